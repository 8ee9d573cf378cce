"""The ``advisor`` command. Library errors become one-line messages here, nowhere else."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from advisor.errors import AdvisorError
from advisor.settings import Settings, configure_offline


def _settings() -> Settings:
    return Settings().resolved()


def cmd_ingest(args: argparse.Namespace) -> int:
    from advisor.chain import build_ingestor
    from advisor.store import build_embeddings, open_store

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
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from advisor.chain import build_advisor

    advisor = build_advisor(_settings())
    if args.jsonl:
        status = 0
        for line in sys.stdin:
            question = line.strip()
            if not question:
                continue
            try:
                print(advisor.ask(question).model_dump_json(), flush=True)
            except AdvisorError as exc:
                print(json.dumps({"question": question, "error": str(exc)}), flush=True)
                status = 2
        return status
    if not args.question:
        raise AdvisorError("give a question, or --jsonl to read questions from standard input")
    answer = advisor.ask(" ".join(args.question))
    print(answer.model_dump_json(indent=2) if args.json else _render(answer.model_dump()))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from advisor.ui import serve

    settings = _settings()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    serve(settings.model_copy(update=overrides))
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
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="start the web app")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Subcommands that live beside their stage (evaluation, screening)."""
    from advisor import audit, auth, evaluation, screening

    return [evaluation.register_cli, screening.register_cli, audit.register_cli, auth.register_cli]


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
