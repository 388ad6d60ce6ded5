"""The engine's admin key in these tests, Switchboard's own header for it, and the size of the
demo store they read."""

KEY = "sb_compat_admin_key_0123456789abcdefghijklmn"
BEARER = {"Authorization": f"Bearer {KEY}"}
DEMO_CALLS = 300  # calls in the demo-seeded store of these tests
