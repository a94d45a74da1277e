"""Diagnosis of a whole finder run (:func:`diagnose_attempts`): the most telling answer among
the attempts, with next steps that never repeat what the finder already tried."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from meterreader.finder import diagnostics as _d
from meterreader.finder.model import AnswerKind, Attempt, Diagnosis
from meterreader.transport.mode_e import parse_identification

__all__ = ["diagnose_attempts"]

_CABLE_STEPS = _d._CABLE_STEPS
_closed = _d._closed
_from_bytes = _d._from_bytes
_medium = _d._medium
_silence = _d._silence
evidence_of = _d.evidence_of
without_echo = _d.without_echo


def diagnose_attempts(attempts: Iterable[Attempt], *, profile: Any = None) -> Diagnosis:
    """Explain why a finder run found nothing, from the most telling answer among ``attempts``:
    an AARE rejection or ExceptionResponse, then FRMR, DM, an identification, a link that
    answered (UA, wrapper) but whose association did not complete, a TCP peer that closed the
    connection, noise; silence everywhere gives "no-answer". The next steps never repeat what
    the finder already tried (baud rates, mode E, the common addresses)."""
    attempts = tuple(attempts)
    if not attempts:
        return Diagnosis(code="no-answer", title="Nothing was tried",
                         explanation="The search ended before the first probe.",
                         next_steps=("give the search more time (--budget)",))
    medium_profile = profile if profile is not None else _Medium(attempts[0].medium)
    ranked: list[tuple[int, Diagnosis]] = []
    signed_on = [a for a in attempts if a.answer is AnswerKind.MODE_E_IDENT
                 and a.settings.get("mode_e")]
    if signed_on:
        ranked.append((5, _signed_on_but_silent(signed_on[0])))
    for attempt in attempts:
        if attempt in signed_on:
            continue
        found = _from_bytes(without_echo(attempt.rx, attempt.tx)[0], medium_profile)
        if found is not None:
            ranked.append((_RANK.get(found.code, 5), found))
    answered = [a for a in attempts if a.answer in (AnswerKind.UA, AnswerKind.WRAPPER)]
    if answered:
        ranked.append((_RANK["incomplete"], _answered_but_incomplete(answered[-1])))
    closed = [a for a in attempts if a.answer is AnswerKind.CLOSED]
    if closed:
        ranked.append((_RANK["closed"], _closed()))
    if ranked:
        best = min(ranked, key=lambda item: item[0])[1]
    else:
        best = _finder_silence(medium_profile)
    return _with_summary(_finder_steps(best), attempts)


def _answered_but_incomplete(attempt: Attempt) -> Diagnosis:
    what = "accepted the link (HDLC UA)" if attempt.answer is AnswerKind.UA \
        else "answered the wrapper"
    return Diagnosis(
        code="incomplete", title="The meter answered, but the association did not complete",
        explanation=f"At {attempt.description.split(': ')[0]} the meter {what}, then the public "
                    "association or the identification did not finish (no answer in time, "
                    "or the search ran out of time).",
        next_steps=("connect with these settings and a longer response timeout (--timeout)",
                    "give the search more time (--budget)",
                    "if another client may hold the meter, wait for its inactivity timeout "
                    "(often 2 minutes) and retry"),
        evidence=evidence_of(attempt.rx))


def _finder_silence(profile: Any) -> Diagnosis:
    """Silence after a whole finder run: physical checks first, then what the finder cannot
    guess."""
    if _medium(profile) == "tcp":
        return Diagnosis(
            code="no-answer", title="No answer: nothing was received from the meter",
            explanation="The TCP connections were accepted, but neither the wrapper nor raw "
                        "HDLC probes got a single byte back.",
            next_steps=("check the host and port: is this the meter's or converter's DLMS port?",
                        "a converter: check its serial settings towards the meter (baud rate, "
                        "8N1) and the cable between converter and meter",
                        "a non-standard HDLC physical address (often derived from the meter's "
                        "serial number): connect with --hdlc --physical N",
                        "give slow devices longer: --probe-timeout 3"))
    return Diagnosis(
        code="no-answer", title="No answer: nothing was received from the meter",
        explanation="Not a single byte came back at any baud rate, with or without the mode E "
                    "opening, at any of the common server addresses.",
        next_steps=(*_CABLE_STEPS[:3],
                    "a non-standard HDLC physical address (often derived from the meter's "
                    "serial number): connect with --physical N (and --address-size)",
                    "give slow meters longer: --probe-timeout 1.5"))


#: Steps of the single-connect diagnoses that a finder run has already carried out.
_TRIED_BY_FINDER = ("meterreader detect", "other baud rates", "try 1-byte 1, 2-byte",
                    "try the IEC 62056-21 mode E opening", "try another server address size",
                    "try the other framing")


def _finder_steps(diagnosis: Diagnosis) -> Diagnosis:
    """``diagnosis`` without the next steps the finder already tried."""
    steps = tuple(step for step in diagnosis.next_steps
                  if not any(words in step for words in _TRIED_BY_FINDER))
    if steps == diagnosis.next_steps:
        return diagnosis
    steps = steps or ("check the cable and the meter's port, then search again",)
    return Diagnosis(code=diagnosis.code, title=diagnosis.title,
                     explanation=diagnosis.explanation, next_steps=steps,
                     evidence=diagnosis.evidence)


def _signed_on_but_silent(attempt: Attempt) -> Diagnosis:
    ident = next((i for i in (parse_identification(line) for line in
                              attempt.rx.split(b"\r\n") + bytes(
                                  b & 0x7F for b in attempt.rx).split(b"\r\n"))
                  if i is not None), None)
    steps: tuple[str, ...] = ()
    explanation = ("It sent its identification at 300 baud 7E1 and we sent the option select "
                   "(ACK) switching to HDLC — the meter does not acknowledge the switch — but no "
                   "HDLC frame came back after it: the server address is none of those tried, "
                   "or its HDLC line does not use 8N1 at the agreed speed.")
    if ident is not None and "2" not in ident.escapes:
        explanation = ("Its identification has no \\2 (binary mode) capability: probably a mode "
                       "C meter (IEC 62056-21 data readout only) without HDLC. " + explanation)
        steps = ("a mode C meter cannot be read with DLMS: use an IEC 62056-21 readout tool",)
    return Diagnosis(
        code="no-answer", title="The meter signed on (IEC 62056-21 mode E) but did not answer "
                                "HDLC",
        explanation=explanation,
        next_steps=(*steps, "a non-standard server address (the physical address is often "
                    "derived from the serial number): connect with --mode-e --physical N",
                    "check the meter's HDLC line format: a meter that keeps 7E1 after the "
                    "switch cannot carry HDLC",
                    "retry after the meter's inactivity timeout (it may still be in HDLC mode "
                    "from an earlier session)"),
        evidence=evidence_of(attempt.rx))


_RANK = {"wrong-password": 0, "wrong-client": 0, "context-not-supported": 0, "aare-rejected": 0,
         "exception-response": 1, "frmr": 2, "dm": 3, "incomplete": 3, "mode-e-needed": 4,
         "closed": 5, "garbage": 6, "unknown": 7}


class _Medium:
    """Stands for a profile when only the medium is known."""

    def __init__(self, medium: str) -> None:
        self.medium = medium


def _with_summary(diagnosis: Diagnosis, attempts: Sequence[Attempt]) -> Diagnosis:
    counts: dict[AnswerKind, int] = {}
    for attempt in attempts:
        counts[attempt.answer] = counts.get(attempt.answer, 0) + 1
    summary = ", ".join(f"{n} {kind.name.replace('_', ' ').lower()}" for kind, n in counts.items())
    tried = f"{len(attempts)} attempts ({summary})."
    explanation = f"{diagnosis.explanation} {tried}".strip()
    return Diagnosis(code=diagnosis.code, title=diagnosis.title, explanation=explanation,
                     next_steps=diagnosis.next_steps, evidence=diagnosis.evidence)
