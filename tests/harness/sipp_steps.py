"""sipp scenario text for the SIP callers, callees and transfer recipients of the tests (integration
and console) and of the live screenshots (docs/screenshots/make_live_shots.py).

Each function returns a fragment of a sipp scenario: one step (``<send>``, ``<recv>``, ``<pause>``,
``<label>``, ``<nop>``) or a run of them, as lines of XML with sipp's keywords (``[local_ip]``,
``[last_Via:]``, ``[len]``...) left for sipp to fill in; ``scenario`` wraps fragments into a
whole document. Requests are the calling side's (the UAC), to ``[service]`` at
``[remote_ip]:[remote_port]``, but for the answering side's NOTIFYs of a REFER
(``refer_notify``); responses answer the last request received. The media offered or answered
is A-law (PCMA) with RFC 4733 telephone events.
"""

from __future__ import annotations

from pathlib import Path

PCMA_PT = 8
DTMF_PT = 101

SERVICE_URI = "sip:[service]@[remote_ip]:[remote_port]"
UAC_TAG = ";tag=[pid]SIPpTag00[call_number]"  # the calling side's From tag
UAS_TAG = ";tag=[pid]SIPpTag01[call_number]"  # the answering side's To tag


def scenario(name: str, *steps: str) -> str:
    """A whole sipp scenario document named ``name``, made of ``steps`` in order."""
    return ('<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
            f'<scenario name="{name}">\n{"".join(steps)}</scenario>\n')


def sdp(owner: str = "caller", version: int = 1, *, port: str = "[rtp_port]",
        events_fmtp: bool = True, direction: str | None = "sendrecv") -> str:
    """An SDP body with PCMA and telephone-event: origin ``owner`` at ``version``, the audio on
    ``port`` (a sipp keyword: ``[rtp_port]`` is the test's media socket, set with ``-key``;
    ``[media_port]`` is sipp's own), the events' ``fmtp`` line (0-15) when ``events_fmtp``, and
    the ``direction`` attribute (sendrecv, sendonly, recvonly...) unless it is None."""
    lines = [
        "v=0",
        f"o={owner} 1 {version} IN IP4 [local_ip]",
        "s=-",
        "c=IN IP4 [local_ip]",
        "t=0 0",
        f"m=audio {port} RTP/AVP {PCMA_PT} {DTMF_PT}",
        f"a=rtpmap:{PCMA_PT} PCMA/8000",
        f"a=rtpmap:{DTMF_PT} telephone-event/8000",
    ]
    if events_fmtp:
        lines.append(f"a=fmtp:{DTMF_PT} 0-15")
    if direction is not None:
        lines.append(f"a={direction}")
    return "\n".join(lines)


def _send(lines: list[str], *, retrans: bool = False) -> str:
    """A ``<send>`` of the message made of ``lines`` (retransmitted every 500 ms over UDP until
    answered when ``retrans``)."""
    attributes = ' retrans="500"' if retrans else ""
    message = "\n".join(f"      {line}" if line else "" for line in lines)
    return f"  <send{attributes}>\n    <![CDATA[\n{message}\n    ]]>\n  </send>\n"


def _content(body: str | None, content_type: str = "application/sdp") -> list[str]:
    """The closing header lines of a message, and its ``body`` after the blank line."""
    if body is None:
        return ["Content-Length: 0"]
    return [f"Content-Type: {content_type}", "Content-Length: [len]", "", *body.splitlines()]


def _uac_request(method: str, cseq: int, *, user: str, display: str, to_tag: bool,
                 body: str | None = None) -> str:
    """The calling side's ``method`` request in a transaction of its own, as ``display``
    <sip:``user``@...>; the remote tag in To when ``to_tag`` (inside the dialog)."""
    lines = [
        f"{method} {SERVICE_URI} SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
        f"From: {display} <sip:{user}@[local_ip]:[local_port]>{UAC_TAG}",
        f"To: <{SERVICE_URI}>" + ("[peer_tag_param]" if to_tag else ""),
        "Call-ID: [call_id]",
        f"CSeq: {cseq} {method}",
        f"Contact: sip:{user}@[local_ip]:[local_port]",
        "Max-Forwards: 70",
        *_content(body),
    ]
    return _send(lines, retrans=method != "ACK")


def invite(body: str, *, cseq: int = 1, in_dialog: bool = False, user: str = "caller",
           display: str = "sipp") -> str:
    """The calling side's INVITE with the SDP ``body``: the first one, or a re-INVITE when
    ``in_dialog``."""
    return _uac_request("INVITE", cseq, user=user, display=display, to_tag=in_dialog, body=body)


def ack(cseq: int = 1, *, user: str = "caller", display: str = "sipp") -> str:
    """The calling side's ACK of a 200 to its INVITE with CSeq ``cseq``."""
    return _uac_request("ACK", cseq, user=user, display=display, to_tag=True)


def ack_rejection(*, user: str = "caller", display: str = "sipp") -> str:
    """The calling side's ACK of a final failure response to its first INVITE: part of the
    INVITE's transaction (its Via), without a Contact."""
    return _send([
        f"ACK {SERVICE_URI} SIP/2.0",
        "[last_Via:]",
        f"From: {display} <sip:{user}@[local_ip]:[local_port]>{UAC_TAG}",
        f"To: <{SERVICE_URI}>[peer_tag_param]",
        "Call-ID: [call_id]",
        "CSeq: 1 ACK",
        "Max-Forwards: 70",
        "Content-Length: 0",
    ])


def bye(cseq: int = 9, *, user: str = "caller", display: str = "sipp") -> str:
    """The calling side's BYE."""
    return _uac_request("BYE", cseq, user=user, display=display, to_tag=True)


def response(status: str, *, to_tag: bool = False, contact: str | None = None,
             body: str | None = None, retrans: bool = False) -> str:
    """A response ``status`` ("200 OK", "180 Ringing"...) to the last request received: our tag
    added to its To when ``to_tag`` (answering a dialog-creating INVITE), a Contact
    <sip:``contact``@...> when given, and the SDP ``body`` when given."""
    lines = [
        f"SIP/2.0 {status}",
        "[last_Via:]",
        "[last_From:]",
        "[last_To:]" + (UAS_TAG if to_tag else ""),
        "[last_Call-ID:]",
        "[last_CSeq:]",
    ]
    if contact is not None:
        lines.append(f"Contact: <sip:{contact}@[local_ip]:[local_port]>")
    return _send(lines + _content(body), retrans=retrans)


def _recv(attributes: str, check: tuple[str, str] | None = None) -> str:
    """A ``<recv>`` with ``attributes``; with ``check`` (a regular expression, a variable), the
    message's body must match the expression, or the scenario fails."""
    if check is None:
        return f"  <recv {attributes}/>\n"
    regexp, variable = check
    return (f"  <recv {attributes}>\n"
            "    <action>\n"
            f'      <ereg regexp="{regexp}" search_in="body" check_it="true" assign_to="{variable}"/>\n'
            "    </action>\n"
            "  </recv>\n"
            f'  <Reference variables="{variable}"/>\n')


def recv_request(method: str, *, timeout_ms: int | None = None, optional: bool = False,
                 next_label: str | None = None) -> str:
    """Waits for a ``method`` request (``timeout_ms`` at most, when given); when ``optional``, the
    scenario may receive what a later step waits for instead; ``next_label`` is where the
    scenario goes on once it is received."""
    attributes = f'request="{method}"'
    if optional:
        attributes += ' optional="true"'
    if timeout_ms is not None:
        attributes += f' timeout="{timeout_ms}"'
    if next_label is not None:
        attributes += f' next="{next_label}"'
    return _recv(attributes)


def recv_response(code: int, *, optional: bool = False, rtd: bool = False) -> str:
    """Waits for a ``code`` response (it may not come when ``optional``); ``rtd`` ends sipp's
    response-time measure there."""
    attributes = f'response="{code}"'
    if optional:
        attributes += ' optional="true"'
    if rtd:
        attributes += ' rtd="true"'
    return _recv(attributes)


def pause(milliseconds: int) -> str:
    """Waits ``milliseconds``."""
    return f'  <pause milliseconds="{milliseconds}"/>\n'


def label(name: str) -> str:
    """A place named ``name`` that a ``recv_request(next_label=...)`` goes to."""
    return f'  <label id="{name}"/>\n'


def play_pcap_audio(pcap: Path | str) -> str:
    """Starts sending the RTP packets of ``pcap`` from sipp's media port (the scenario goes on
    while they play)."""
    return f'  <nop>\n    <action>\n      <exec play_pcap_audio="{pcap}"/>\n    </action>\n  </nop>\n'


def dial(*, user: str = "caller", display: str = "sipp", body: str | None = None) -> str:
    """The calling side sets up the call: its INVITE (``body``, else the caller's SDP: sendrecv
    on the test's media socket), the provisional responses, the 200 and its ACK."""
    return (invite(sdp() if body is None else body, user=user, display=display)
            + recv_response(100, optional=True)
            + recv_response(180, optional=True)
            + recv_response(200, rtd=True)
            + ack(user=user, display=display))


def answer_call(user: str, *, port: str = "[rtp_port]", ringing_contact: bool = True,
                ack_timeout_ms: int | None = None) -> str:
    """The answering side takes the INVITE, rings (the 180 with a Contact when
    ``ringing_contact``), answers with its SDP (origin ``user``, the audio on ``port``, sendrecv)
    and takes the ACK (``ack_timeout_ms`` at most, when given)."""
    return (recv_request("INVITE")
            + response("180 Ringing", to_tag=True, contact=user if ringing_contact else None)
            + response("200 OK", to_tag=True, contact=user, body=sdp(user, port=port),
                       retrans=True)
            + recv_request("ACK", timeout_ms=ack_timeout_ms))


def answer_reinvite(n: int, offer: str, answer: str, timeout_ms: int = 30000) -> str:
    """Takes the engine's ``n``-th re-INVITE (its SDP must say ``a=offer``), answers it with the
    caller's SDP at version n + 1 saying ``a=answer``, and takes the ACK."""
    version = n + 1
    return (_recv(f'request="INVITE" timeout="{timeout_ms}"', (f"a={offer}", f"dir{version}"))
            + response("200 OK", contact="caller",
                       body=sdp(version=version, events_fmtp=False, direction=answer))
            + recv_request("ACK", timeout_ms=5000))


def send_reinvite(cseq: int, offer: str, answer: str, pause_ms: int) -> str:
    """After ``pause_ms``, the caller's re-INVITE with CSeq ``cseq`` (holding or resuming the
    engine), its SDP at version ``cseq`` saying ``a=offer``; the engine's answer must say
    ``a=answer``; then the ACK."""
    return (pause(pause_ms)
            + invite(sdp(version=cseq, events_fmtp=False, direction=offer), cseq=cseq,
                     in_dialog=True)
            + recv_response(100, optional=True)
            + _recv('response="200"', (f"a={answer}", f"peer{cseq}"))
            + ack(cseq))


def send_bye(pause_ms: int = 0) -> str:
    """After ``pause_ms``, the caller hangs up: its BYE, and the 200."""
    return pause(pause_ms) + bye() + recv_response(200)


def recv_bye(timeout_ms: int = 40000) -> str:
    """Waits ``timeout_ms`` at most for the other side's BYE, and answers it with a 200."""
    return recv_request("BYE", timeout_ms=timeout_ms) + response("200 OK")


def recv_refer(refer_to: str, *, timeout_ms: int) -> str:
    """Waits ``timeout_ms`` at most for a REFER whose Refer-To must match the regular expression
    ``refer_to``; keeps its Contact's URI and its From in the ``contact`` and ``referrer``
    variables, for ``refer_notify``."""
    return (f'  <recv request="REFER" timeout="{timeout_ms}">\n'
            "    <action>\n"
            '      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>\n'
            '      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="referrer"/>\n'
            f'      <ereg regexp="{refer_to}" search_in="hdr" header="Refer-To:" check_it="true"\n'
            '            assign_to="target"/>\n'
            "    </action>\n"
            "  </recv>\n"
            '  <Reference variables="target"/>\n')


def refer_notify(cseq: int, subscription_state: str, sipfrag: str, *, user: str = "callee") -> str:
    """The answering side's NOTIFY of a REFER's progress, to the referrer's Contact and From (as
    ``recv_refer`` kept them): the status line ``sipfrag`` of the new call, in a subscription now
    ``subscription_state``."""
    return _send([
        "NOTIFY [$contact] SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
        f"From: <sip:{user}@[local_ip]:[local_port]>{UAS_TAG}",
        "To: [$referrer]",
        "Call-ID: [call_id]",
        f"CSeq: {cseq} NOTIFY",
        f"Contact: <sip:{user}@[local_ip]:[local_port]>",
        "Max-Forwards: 70",
        "Event: refer",
        f"Subscription-State: {subscription_state}",
        *_content(sipfrag, "message/sipfrag;version=2.0"),
    ], retrans=True)
