"""The engine's admin key in these tests, and Switchboard's own header for it."""

KEY = "sb_compat_admin_key_0123456789abcdefghijklmn"
BEARER = {"Authorization": f"Bearer {KEY}"}
