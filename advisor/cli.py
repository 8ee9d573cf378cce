"""The ``advisor`` command. Library errors become one-line messages here, nowhere else."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import AdvisorError
from advisor.settings import Settings, configure_offline

if TYPE_CHECKING:
    from advisor.chain import Advisor


def _settings() -> Settings:
    return Settings().resolved()


def cmd_ingest(args: argparse.Namespace) -> int:
    from advisor.chain import build_ingestor
    from advisor.corpus.store import build_embeddings, open_store

    settings = _settings()
    store = open_store(settings, build_embeddings(settings), create=True)
    roots = [Path(p) for p in args.paths] or [settings.corpus_dir]
    report = build_ingestor(settings, store, progress=not args.json).sync(
        roots, rebuild=args.rebuild
    )
    if args.json:
        keys = ("added", "updated", "unchanged", "removed", "documents", "chunks")
        print(json.dumps({k: getattr(report, k) for k in keys}))
    else:
        print(
            f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
            f"removed {report.removed}; index holds {report.documents} documents, "
            f"{report.chunks} chunks"
        )
    for line in [*report.skipped, *report.warnings]:
        print(f"warning: {line}", file=sys.stderr)
    return 0


def _render(answer_json: dict) -> str:
    lines = [f"[{answer_json['level'].upper()}] {answer_json['answer']}"]
    for c in answer_json["citations"]:
        where = ", ".join(
            str(x) for x in (c.get("section"), f"p. {c['page']}" if c.get("page") else None) if x
        )
        lines.append(f"[{c['n']}] {c['title']}{' - ' + where if where else ''} ({c['source']})")
    lines += [f"note: {note}" for note in answer_json.get("notes") or []]
    return "\n".join(lines)


def _os_user() -> str | None:
    """Who is at the terminal, for the audit record (None when the system cannot say)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def cmd_ask(args: argparse.Namespace) -> int:
    """Answers are recorded in the audit trail the app uses (same settings), channel cli.
    ``--attach FILE`` asks about a document (every question, with ``--jsonl``): it is checked
    and read before the index is opened, analysed with the question, and never stored."""
    from advisor.chain import build_advisor
    from advisor.records.audit import AuditLog
    from advisor.services.answering import AnsweringService, Origin
    from advisor.services.attachments import AttachmentReader

    settings = _settings()
    attachment = None
    if args.attach is not None:
        path = Path(args.attach)
        attachment = AttachmentReader(settings).read(path, path.name)
    advisor = build_advisor(settings)
    audit = AuditLog.from_settings(advisor.settings)
    try:
        answering = AnsweringService(advisor, audit)
        user = _os_user()
        if args.jsonl:
            status = 0
            for line in sys.stdin:
                question = line.strip()
                if not question:
                    continue
                try:
                    origin = Origin.single("cli", user)
                    answer = answering.ask(question, origin, attachment=attachment).answer
                    print(answer.model_dump_json(), flush=True)
                except AdvisorError as exc:
                    print(json.dumps({"question": question, "error": str(exc)}), flush=True)
                    status = 2
            return status
        if not args.question:
            raise AdvisorError("give a question, or --jsonl to read questions from standard input")
        question = " ".join(args.question)
        answer = answering.ask(question, Origin.single("cli", user), attachment=attachment).answer
        print(answer.model_dump_json(indent=2) if args.json else _render(answer.model_dump()))
        return 0
    finally:
        audit.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from advisor.ui.app import serve

    settings = _settings()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    serve(settings.model_copy(update=overrides), announce=lambda line: print(line, flush=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor", description="Cited export-control answers from a curated corpus."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="sync documents into the index")
    p.add_argument("paths", nargs="*", help="files or folders (default: the corpus folder)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and start over")
    p.add_argument("--json", action="store_true", help="print counts as JSON")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="ask one question, or many with --jsonl")
    p.add_argument("question", nargs="*")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument("--jsonl", action="store_true", help="questions on stdin, Answers out")
    p.add_argument(
        "--attach",
        metavar="FILE",
        help="ask about this document (PDF, DOCX or text); it is analysed, never stored",
    )
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="start the web app")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    _eval_parser(sub)
    _screen_parser(sub)
    _audit_parser(sub)
    _users_parser(sub)
    return parser


# --------------------------------------------------------------------------- advisor eval


def _eval_parser(sub: argparse._SubParsersAction) -> None:
    from advisor.evaluation.gate import DEFAULT_BASELINE

    p = sub.add_parser(
        "eval",
        help="run evaluation cases, write reports, gate on the baseline",
        description="Run YAML cases through the advisor and write report.json/.md/.html. "
        "Exit 1 when the regression gate fails, 2 on bad input.",
    )
    p.add_argument(
        "--cases",
        nargs="+",
        required=True,
        metavar="PATH",
        help="case files or folders of *.yaml cases",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="report folder (default: evals/reports/<timestamp>/)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help=f"accepted metrics and tolerances (default: {DEFAULT_BASELINE})",
    )
    p.add_argument(
        "--update-baseline",
        action="store_true",
        help="rewrite the baseline from this run of the whole suite (tolerances are kept; "
        "it records each case's result, which subset runs are gated on)",
    )
    p.add_argument(
        "--compare",
        type=Path,
        metavar="OTHER_REPORT_DIR",
        help="show metric deltas and changed cases against an earlier report",
    )
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="only the cases with this tag (repeat for several: any of them); a run on part "
        "of the suite is gated on the baseline's results for the same cases",
    )
    p.add_argument("--llm", metavar="SPEC", help="answer writer (default: settings.llm)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (CI logs)")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    """Inputs are validated before the advisor is built (exit 2), then one advisor runs all."""
    from advisor.chain import build_advisor
    from advisor.evaluation.display import fmt
    from advisor.evaluation.gate import DEFAULT_BASELINE
    from advisor.evaluation.render_markdown import compare_lines, gate_lines
    from advisor.evaluation.suite import DEFAULT_REPORTS, run_suite

    def make_advisor() -> Advisor:
        settings = _settings()
        if args.llm:
            settings = settings.model_copy(update={"llm": args.llm})
        return build_advisor(settings)

    run = run_suite(
        make_advisor,
        args.cases,
        baseline_path=args.baseline or DEFAULT_BASELINE,
        require_baseline=args.baseline is not None and not args.update_baseline,
        update_baseline=args.update_baseline,
        compare_dir=args.compare,
        out_dir=args.out,
        reports_dir=DEFAULT_REPORTS,
        bar=not args.no_progress,
        tags=args.tag,
    )
    report, gate = run.report, run.gate
    width = max(len(k) for k in report.metrics)
    print(f"{report.summary.passed}/{len(run.results)} cases passed")
    print("\n".join(f"  {k:<{width}}  {fmt(k, v)}" for k, v in report.metrics.items()))
    if report.compare is not None:
        print("\n".join(compare_lines(report.compare)))
    print("\n".join(gate_lines(gate)))
    if run.baseline_written is not None:
        print(f"baseline written to {run.baseline_written}")
    print(f"reports: {run.paths['md']} {run.paths['html']} {run.paths['json']}")
    ok = not gate.prohibited_below_escalate if args.update_baseline else gate.passed
    return 0 if ok else 1


# --------------------------------------------------------------------------- advisor screen


def _screen_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "screen",
        help="screen a name against the restricted-party list",
        description="Screen a person or organisation against ADVISOR_SCREENING_PATH (OFAC "
        "sdn.csv with alt.csv/add.csv, SDN.XML, or the trade.gov CSL as CSV or JSON). A country, "
        "an address or a date of birth raises or lowers each score, and the result says how.",
    )
    p.add_argument("name", nargs="+", help="person or organisation name")
    p.add_argument("--country", help="ISO-2 country code, e.g. CN: agreeing raises a score")
    p.add_argument("--address", help="address or city: agreeing raises a score")
    p.add_argument("--dob", help="date of birth (1958-09-10, '10 Sep 1958' or 1958)")
    p.add_argument("--threshold", type=float, help="match score 0-100 (default: settings)")
    p.add_argument("--json", action="store_true", help="print the matches as JSON")
    p.set_defaults(func=cmd_screen)


def _print_match(m: Any) -> None:
    d = m.to_dict()
    print(f"{d['score']:5.1f}  {d['name']}  [{d['type']}; {d['country'] or '--'}]  {d['list']}")
    if d["matched_name"] != d["name"]:
        print(f"       matched name: {d['matched_name']}")
    for label, key in (
        ("programs", "programs"),
        ("born", "dates_of_birth"),
        ("nationality", "nationalities"),
        ("address", "addresses"),
    ):
        if d[key]:
            print(f"       {label}: {'; '.join(d[key][:3])}")
    for note in d["notes"]:
        print(f"       score: {note}")


def cmd_screen(args: argparse.Namespace) -> int:
    from advisor.errors import RulesError
    from advisor.screening import country_code, screener_from_settings
    from advisor.screening.screener import birth_dates
    from advisor.services.screening import ScreeningService

    country_code(args.country)  # bad input fails before the list is read
    birth_dates(args.dob)
    settings = _settings()
    path = settings.screening_path
    screener = screener_from_settings(settings)
    name = " ".join(args.name)
    result = ScreeningService(lambda: screener).screen(
        name, args.country, args.address, args.dob, args.threshold
    )
    if screener is None or result is None:
        raise RulesError(f"{path}: no screening list there; set ADVISOR_SCREENING_PATH")
    matches, threshold = result.matches, result.threshold
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    fresh = screener.freshness()
    if args.json:
        payload = {
            "query": name,
            "country": country_code(args.country),
            "address": args.address,
            "dob": args.dob,
            "threshold": threshold,
            "list_file": str(path),
            "format": screener.loaded.format,
            "entries": len(screener.parties),
            "list_date": fresh.list_date.isoformat() if fresh.list_date else None,
            "list_date_source": fresh.source,
            "stale": fresh.stale,
            "skipped_rows": screener.loaded.skipped,
            "warnings": result.warnings,
            "matches": [m.to_dict() for m in matches],
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(f"list: {path.name}: {screener.describe()}")
    if not matches:
        print(
            f"no match for {name!r} (threshold {threshold:g}, "
            f"{len(screener.parties)} entries in {path.name})"
        )
        return 0
    for m in matches:
        _print_match(m)
    return 0


# --------------------------------------------------------------------------- advisor audit


def _audit_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="verify, anchor or export the audit trail",
        description="The hash-chained record of answers, feedback and compliance actions.",
    )
    audit_sub = p.add_subparsers(
        dest="audit_command", required=True, metavar="{verify,anchor,export}"
    )
    v = audit_sub.add_parser(
        "verify",
        help="recompute the keyed hash chain and compare its head with the anchor",
        description="Exit 0 when the log is intact; 1 when a record was edited, removed, "
        "reordered or re-chained, when the store or its table is missing, or when the head does "
        "not match the anchor (or --expect); 2 when the log cannot be read.",
    )
    v.add_argument(
        "--expect",
        metavar="SEQ:HASH",
        help="a head printed earlier by `advisor audit anchor`: the log must still contain it",
    )
    v.set_defaults(func=cmd_audit_verify)
    a = audit_sub.add_parser(
        "anchor",
        help="print the anchored head (sequence number and hash) for the office's records",
        description="The head written outside the database after every append. Keep the line "
        "it prints somewhere the server cannot change; `verify --expect SEQ:HASH` checks it.",
    )
    a.add_argument("--json", action="store_true", help="print the anchor file's fields as JSON")
    a.add_argument(
        "--reset",
        action="store_true",
        help="after checking the chain, anchor its current head (replaces a lost or stale anchor; "
        "recorded in the log)",
    )
    a.set_defaults(func=cmd_audit_anchor)
    e = audit_sub.add_parser(
        "export",
        help="write answers and events with their feedback",
        description="For the export control office: one row per answer or event, with the "
        "latest feedback on it.",
    )
    e.add_argument("--since", metavar="DATE", help="only records from this UTC date or time on")
    e.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="default: csv")
    e.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    e.set_defaults(func=cmd_audit_export)


def _expected_head(text: str | None) -> tuple[int, str] | None:
    from advisor.errors import InputError

    if text is None:
        return None
    seq, _, hash_ = text.strip().replace("seq ", "").replace(" hash ", ":").partition(":")
    if not seq.isdigit() or len(hash_) != 64 or any(c not in "0123456789abcdef" for c in hash_):
        raise InputError(
            f"--expect takes SEQ:HASH as `advisor audit anchor` prints it, not {text!r}"
        )
    return int(seq), hash_


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from advisor.records.audit import AuditLog

    expect = _expected_head(args.expect)
    audit = AuditLog.from_settings(_settings())
    try:
        result = audit.verify(expect=expect)
    finally:
        audit.close()
    print(result.summary())
    return 0 if result.ok else 1


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    import getpass

    from advisor.records.audit import AuditLog

    audit = AuditLog.from_settings(_settings())
    try:
        anchor = audit.reset_anchor(user=getpass.getuser()) if args.reset else None
        anchor = anchor or audit.current_anchor()
    finally:
        audit.close()
    if anchor is None:
        print(f"no anchor at {audit.anchor_path} yet: it is written with the first record")
        return 1
    if args.json:
        print(anchor.model_dump_json(indent=2))
    else:
        print(f"{anchor.seq}:{anchor.hash}")
        where = f"seq {anchor.seq}, written {anchor.written_at}, store {anchor.store}"
        print(f"({where})", file=sys.stderr)
    return 0


def cmd_audit_export(args: argparse.Namespace) -> int:
    from advisor.errors import InputError
    from advisor.records.audit import AuditLog, parse_since

    since = parse_since(args.since)  # a bad date fails before the store is opened
    audit = AuditLog.from_settings(_settings())
    try:
        if args.out is None:
            audit.export(sys.stdout, args.format, since)
            return 0
        try:
            with open(args.out, "w", encoding="utf-8", newline="") as out:
                count = audit.export(out, args.format, since)
        except OSError as exc:
            raise InputError(f"{args.out}: cannot be written ({exc.strerror or exc})") from exc
        print(f"wrote {count} records to {args.out}", file=sys.stderr)
        return 0
    finally:
        audit.close()


# --------------------------------------------------------------------------- advisor users


def _users_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="manage the users of the compliance tabs")
    users_sub = p.add_subparsers(dest="users_command", required=True)
    h = users_sub.add_parser(
        "hash",
        help="hash a password for ADVISOR_ADMIN_USERS or the users file",
        description="Reads the password from standard input when it is not a terminal "
        "(first line), else prompts twice without echo; prints the hash.",
    )
    h.add_argument("--user", help="print NAME:<hash>, ready for ADVISOR_ADMIN_USERS")
    h.set_defaults(func=cmd_users_hash)


def _read_password() -> str:
    import getpass

    from advisor.records.auth import UsersConfigError

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise UsersConfigError("the passwords do not match")
    return first


def cmd_users_hash(args: argparse.Namespace) -> int:
    from advisor.records.auth import MIN_PASSWORD_CHARS, USER_NAME, UsersConfigError, hash_password

    if args.user is not None and not USER_NAME.match(args.user):
        raise UsersConfigError(f"user name {args.user!r} must be 1-64 letters, digits or . _ @ -")
    password = _read_password()
    if len(password) < MIN_PASSWORD_CHARS:
        raise UsersConfigError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    encoded = hash_password(password)
    print(f"{args.user}:{encoded}" if args.user else encoded)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    configure_offline()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except AdvisorError as exc:
        print(f"advisor: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
