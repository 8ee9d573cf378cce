"""LLM answer writers: a chat model writes cited prose; rules keep the level; checks keep it honest.

``ADVISOR_LLM`` is an ``init_chat_model`` spec (``openai:gpt-4.1-mini``, ``anthropic:...``,
``ollama:qwen2.5:7b``) or, with ``ADVISOR_LLM_BASE_URL``, the model name on any
OpenAI-compatible server. Everything that can be wrong with the configuration (prompt files,
provider package, API key) is an error when the advisor starts, not at the first question.

At answer time the model gets the numbered passages and the escalation flags, each wrapped in
tags and declared to be data. Its reply goes through ``advisor.writing.citations`` checks; a failing
reply gets one repair round with the problems listed, then the extractive answer is used with a
visible notice. Provider errors, timeouts and rate limits also end in the extractive answer, so
a question is never lost. The answer around the model's prose (bottom line, flags, next steps,
notice) is built here from the rules, so the level the user sees never comes from the model.
"""

from __future__ import annotations

import html
import importlib.util
import logging
import os
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from advisor.errors import InputError
from advisor.models import AttachmentSummary, Citation, Flag, Level, Turn
from advisor.settings import Settings
from advisor.writing.answer import (
    LEVEL_LABEL,
    AnswerWriter,
    Draft,
    ExtractiveWriter,
    Shown,
    WriteRequest,
    citation_for,
    final_draft,
    flags_block,
    lead_block,
    next_steps_block,
    notice,
    out_of_scope_text,
)
from advisor.writing.attachment import (
    document_block,
    document_lead,
    number_clauses,
    with_document,
)
from advisor.writing.citations import (
    check_answer,
    check_decline,
    cited_numbers,
    parse_reply,
    suggested_level,
)
from advisor.writing.prompts import PromptSet, load_prompts

log = logging.getLogger(__name__)

SUGGESTION_ID = "llm-suggestion"
SUGGESTION_CITATION = "model suggestion (not a rule)"
REPAIRING = "_Checking the draft against the passages and correcting it..._"
_TAGS = re.compile(
    r"<(?=\s*/?\s*(?:passages?|question|history|turn|flags?|document|clause)\b)", re.IGNORECASE
)


@dataclass(frozen=True)
class Provider:
    """What a provider needs installed and set; ``extra`` is this project's optional extra."""

    module: str
    package: str
    extra: str | None
    key_env: str | None


PROVIDERS: dict[str, Provider] = {
    "openai": Provider("langchain_openai", "langchain-openai", "openai", "OPENAI_API_KEY"),
    "azure_openai": Provider(
        "langchain_openai", "langchain-openai", "openai", "AZURE_OPENAI_API_KEY"
    ),
    "anthropic": Provider(
        "langchain_anthropic", "langchain-anthropic", "anthropic", "ANTHROPIC_API_KEY"
    ),
    "ollama": Provider("langchain_ollama", "langchain-ollama", "ollama", None),
    "google_genai": Provider(
        "langchain_google_genai", "langchain-google-genai", None, "GOOGLE_API_KEY"
    ),
    "mistralai": Provider("langchain_mistralai", "langchain-mistralai", None, "MISTRAL_API_KEY"),
    "groq": Provider("langchain_groq", "langchain-groq", None, "GROQ_API_KEY"),
}


def split_spec(spec: str) -> tuple[str | None, str]:
    """``ollama:qwen2.5:7b`` -> ("ollama", "qwen2.5:7b"); a bare name infers the usual two."""
    head, sep, rest = spec.partition(":")
    provider = head.strip().lower().replace("-", "_")
    if sep and provider in PROVIDERS:
        return provider, rest.strip()
    lower = spec.lower()
    if lower.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return "openai", spec
    if lower.startswith("claude"):
        return "anthropic", spec
    return None, spec


def _require_package(provider: Provider, spec: str) -> None:
    if importlib.util.find_spec(provider.module) is not None:
        return
    how = (
        f"pip install -e '.[{provider.extra}]'"
        if provider.extra
        else f"pip install {provider.package}"
    )
    extra = f"the '{provider.extra}' extra" if provider.extra else provider.package
    raise InputError(
        f"ADVISOR_LLM={spec!r} needs {extra} ({provider.package} is not installed); run: {how}"
    )


def _require_key(provider: Provider, spec: str) -> None:
    if provider.key_env and not os.environ.get(provider.key_env, "").strip():
        raise InputError(
            f"ADVISOR_LLM={spec!r} needs the API key in {provider.key_env}; set it in the "
            "environment (or use ADVISOR_LLM_BASE_URL and ADVISOR_LLM_API_KEY for an "
            "OpenAI-compatible server)"
        )


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The LangChain chat model for ``settings.llm``; constructing it makes no request."""
    spec = settings.llm.strip()
    provider_name, model = split_spec(spec)
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    if settings.llm_base_url and provider_name in (None, "openai"):
        _require_package(PROVIDERS["openai"], spec)
        from langchain_openai import ChatOpenAI

        # Local servers ignore the key but the client insists on one; never send the
        # user's OPENAI_API_KEY to a server it was not meant for.
        return ChatOpenAI(
            model=model,
            base_url=settings.llm_base_url,
            api_key=api_key or "not-needed",
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_retries,
            use_responses_api=False,
        )
    provider = PROVIDERS.get(provider_name or "")
    if provider is not None:
        _require_package(provider, spec)
        if api_key is None:
            _require_key(provider, spec)
    kwargs: dict[str, Any] = {"temperature": settings.llm_temperature}
    if provider_name == "ollama":
        # ChatOllama names these differently and has no retry setting.
        kwargs["num_predict"] = settings.llm_max_tokens
        kwargs["client_kwargs"] = {"timeout": settings.llm_timeout}
    else:
        kwargs.update(
            max_tokens=settings.llm_max_tokens,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_retries,
        )
        if api_key:
            kwargs["api_key"] = api_key
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(model, model_provider=provider_name, **kwargs)
    except ImportError as exc:
        raise InputError(f"ADVISOR_LLM={spec!r}: {exc}") from exc
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(
            f"ADVISOR_LLM={spec!r}: {first} Write it as provider:model (openai:gpt-4.1-mini, "
            "anthropic:claude-sonnet-4-5, ollama:qwen2.5:7b) or set ADVISOR_LLM_BASE_URL."
        ) from exc


_FAILURES: list[tuple[type[Exception], str]] = [
    (ModelTimeoutError, "timed out"),
    (ModelRateLimitError, "hit a rate limit"),
    (ModelConnectionError, "could not be reached"),
    (ModelAuthenticationError, "rejected the API key"),
    (ContextOverflowError, "found the request too long"),
    (ModelAPIError, "reported a server error"),
    (ModelError, "refused the request"),
]


def describe_failure(exc: Exception) -> str:
    """Words for the notice: LangChain maps every provider's errors onto these classes."""
    what = next((words for cls, words in _FAILURES if isinstance(exc, cls)), None)
    if what is None:
        names = {c.__name__ for c in type(exc).__mro__}
        what = "timed out" if any("Timeout" in n for n in names) else "failed"
    status = getattr(exc, "status_code", None)
    detail = f"HTTP {status}, " if isinstance(status, int) else ""
    return f"the model service {what} ({detail}{type(exc).__name__})"


# --------------------------------------------------------------------------- data in prompts


def as_data(text: str) -> str:
    """Neutralise our own tags inside user or corpus text, so data cannot close its wrapper."""
    return _TAGS.sub("&lt;", text)


def _attr(value: object) -> str:
    return html.escape(str(value), quote=True)


def format_passages(citations: list[Citation]) -> str:
    blocks = []
    for c in citations:
        attrs = f'n="{c.n}" title="{_attr(c.title)}"'
        if c.section:
            attrs += f' section="{_attr(c.section)}"'
        blocks.append(f"<passage {attrs}>\n{as_data(c.text.strip())}\n</passage>")
    return "\n".join(blocks) or "(no passages were retrieved)"


def format_flags(flags: list[Flag]) -> str:
    if not flags:
        return "(no flags: no escalation trigger was found)"
    return "\n".join(
        f'<flag level="{f.level.value.upper()}" citation="{_attr(f.citation)}">'
        f"{as_data(f.reason)}</flag>"
        for f in flags
    )


def format_document(document: AttachmentSummary | None) -> str:
    """The attachment's cited clauses as numbered data, like passages: document text can
    never close its tag or speak as the advisor (``as_data``)."""
    if document is None:
        return "(no document was attached)"
    head = f'<document name="{_attr(document.name)}" kind="{document.kind}"'
    head += f' pages="{document.pages}">' if document.pages else ">"
    clauses = []
    for c in document.clauses:
        if c.n is None:
            continue
        where = f' page="{c.page}"' if c.page else ""
        where += f' paragraph="{c.paragraph}"' if c.paragraph else ""
        clauses.append(
            f'<clause n="{c.n}"{where} level="{c.level.value.upper()}">'
            f"{as_data(c.text.strip())}</clause>"
        )
    body = "\n".join(clauses) or "(the escalation rules matched no clause of it)"
    return f"{head}\n{body}\n</document>"


def format_question(question: str) -> str:
    return f"<question>\n{as_data(question.strip())}\n</question>"


def format_history(history: list[Turn], limit: int = 600) -> str:
    """Assistant turns are shortened: the facts a follow-up depends on are in the user's."""
    turns = []
    for t in history:
        text = t.content.strip()
        if t.role == "assistant" and len(text) > limit:
            text = text[:limit] + " ..."
        turns.append(f'<turn role="{t.role}">\n{as_data(text)}\n</turn>')
    return "\n".join(turns)


def format_situation(request: WriteRequest) -> str:
    """The situation's facts and missing facts, one per line, for the prompt."""
    situation = request.situation
    if situation is None:
        return "(not given)"
    lines = [f"- {label}: {value}" for label, value in situation.summary({})]
    lines += [f"- missing: {q}" for q in situation.missing_questions()]
    if request.determination is not None:
        lines.append(f"- curated determination: {request.determination.determination.answer}")
    return "\n".join(lines) or "(nothing specific)"


def streamed_part(reply: str) -> str:
    """The part of a reply still arriving that can be shown: an unfinished last line that may
    become a LEVEL or SUGGESTED LEVEL line (removed once complete) is held back."""
    done, _, last = reply.rpartition("\n")
    head = last.lstrip(" >*_#`-").upper()
    held = head and any(word.startswith(head[: len(word)]) for word in ("LEVEL", "SUGGESTED LEVEL"))
    return done if held else reply


# --------------------------------------------------------------------------- the writer


class Rejected(Exception):
    """The model's reply failed the checks twice; the extractive answer is used instead."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


Check = Callable[[str], list[str]]


@dataclass
class LLMWriter(AnswerWriter):
    """Answer writer around a chat model, with the extractive writer as its safety net."""

    chat: BaseChatModel
    prompts: PromptSet
    fallback: ExtractiveWriter
    name: str
    office: str
    passages: int = 6
    condenses: bool = True

    # ------------------------------------------------------------------ follow-ups

    def condense(self, question: str, history: list[Turn]) -> str:
        """A standalone question for retrieval, or "" when the model could not give one (the
        chain then joins the recent user turns, as without a model)."""
        if not history:
            return question
        messages = [
            SystemMessage(self.prompts.render("system", office=self.office)),
            HumanMessage(
                self.prompts.render(
                    "condense", history=format_history(history), question=format_question(question)
                )
            ),
        ]
        try:
            text = str(self.chat.invoke(messages).text)
        except Exception as exc:  # any provider failure: retrieval falls back, never fails
            log.warning("condensing the follow-up failed (%s): %s", type(exc).__name__, exc)
            return ""
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        if not lines:
            return ""
        standalone = re.sub(r"^(?:standalone question|question)\s*:\s*", "", lines[0], flags=re.I)
        return standalone.strip().strip('"“”*')[:2000]

    # ------------------------------------------------------------------ answers

    def write(self, request: WriteRequest) -> Draft:
        """One request without streaming, e.g. for batch use."""
        return final_draft(self._answer(request, streaming=False))

    def stream(self, request: WriteRequest) -> Iterator[str | Shown | Draft]:
        """The text as it grows, token by token, then the checked ``Draft``."""
        yield from self._answer(request, streaming=True)

    def _answer(self, request: WriteRequest, streaming: bool) -> Iterator[str | Shown | Draft]:
        question, flags, level = request.question, request.flags, request.level
        passages = request.hits[: self.passages] + list(request.support)
        given = {i + 1: citation_for(i + 1, hit) for i, hit in enumerate(passages)}
        lead = request.bottom_line or "See what the corpus says below."
        document, doc_block = None, ""
        if request.document is not None:
            document, cited = number_clauses(request.document, len(given) + 1)
            given.update({c.n: c for c in cited})
            lead = with_document(lead, document_lead(document))
            doc_block = document_block(document, self.office)
        header = lead_block(lead, level)
        messages: list[BaseMessage] = [
            SystemMessage(self.prompts.render("system", office=self.office)),
            HumanMessage(
                self.prompts.render(
                    "answer",
                    passages=format_passages(list(given.values())),
                    flags=format_flags(flags),
                    level=LEVEL_LABEL[level],
                    question=format_question(question),
                    office=self.office,
                    bottom_line=as_data(lead),
                    situation=as_data(format_situation(request)),
                    document=format_document(document),
                )
            ),
        ]

        top = "\n\n".join(b for b in (header, doc_block) if b)

        def show(reply: str) -> str:
            prose = parse_reply(streamed_part(reply)).prose
            return f"{top}\n\n**What the corpus says**\n{prose}" if prose else top

        def check(reply: str) -> list[str]:
            return check_answer(parse_reply(reply), given, flags, level, question)

        yield Shown(top)
        try:
            reply = yield from self._generate(messages, check, show, level, streaming)
        except Exception as exc:  # provider errors, timeouts, rate limits, failed checks
            yield from self._fall_back(exc, request)
            return
        parsed = parse_reply(reply)
        extra: list[Flag] = []
        if suggestion := suggested_level(parsed, level):
            raised, reason = suggestion
            extra.append(
                Flag(id=SUGGESTION_ID, level=raised, reason=reason, citation=SUGGESTION_CITATION)
            )
        final = Level.highest([level, *(f.level for f in extra)])
        said = f"{lead}\n{parsed.prose}\n{doc_block}\n{extra[0].reason if extra else ''}"
        numbers = set(cited_numbers(said))
        all_flags = sorted([*flags, *extra], key=lambda f: -f.level.rank)
        blocks = [
            lead_block(lead, final),
            doc_block,
            f"**What the corpus says**\n{parsed.prose}",
            flags_block(all_flags),
            next_steps_block(all_flags, final, self.office),
            notice(self.office),
        ]
        text = "\n\n".join(b for b in blocks if b)
        yield Shown(text)
        yield Draft(
            text=text,
            citations=[c for n, c in given.items() if n in numbers],
            model=self.name,
            prompt_version=self.prompts.version,
            flags=extra,
            bottom_line=lead,
            document=document,
        )

    def decline(
        self, question: str, flags: list[Flag], level: Level
    ) -> Iterator[str | Shown | Draft]:
        """Out-of-scope questions: a short model-written decline, checked like an answer."""
        blocks = [flags_block(flags), notice(self.office)]
        messages: list[BaseMessage] = [
            SystemMessage(self.prompts.render("system", office=self.office)),
            HumanMessage(
                self.prompts.render(
                    "out_of_scope",
                    question=format_question(question),
                    flags=format_flags(flags),
                    level=LEVEL_LABEL[level],
                    office=self.office,
                )
            ),
        ]

        def show(reply: str) -> str:
            return parse_reply(streamed_part(reply)).prose

        def check(reply: str) -> list[str]:
            return check_decline(parse_reply(reply), flags, level, question)

        fallback = False
        try:
            reply = yield from self._generate(messages, check, show, level, True, repair=False)
            prose = parse_reply(reply).prose
        except Exception as exc:
            log.warning("model decline not used (%s): %s", type(exc).__name__, exc)
            prose, fallback = out_of_scope_text(self.office), True
        text = "\n\n".join(b for b in [prose, *blocks] if b)
        yield Shown(text)
        yield Draft(
            text=text,
            citations=[],
            model="extractive" if fallback else self.name,
            fallback=fallback,
            prompt_version=self.prompts.version,
        )

    # ------------------------------------------------------------------ machinery

    def _complete(
        self, messages: list[BaseMessage], show: Callable[[str], str], streaming: bool
    ) -> Generator[Shown, None, str]:
        if not streaming:
            return str(self.chat.invoke(messages).text)
        text = ""
        for chunk in self.chat.stream(messages):
            piece = str(chunk.text)
            if piece:
                text += piece
                yield Shown(show(text))
        return text

    def _generate(
        self,
        messages: list[BaseMessage],
        check: Check,
        show: Callable[[str], str],
        level: Level,
        streaming: bool,
        repair: bool = True,
    ) -> Generator[Shown, None, str]:
        """Ask, check, and repair once with the problems listed; raise ``Rejected`` after."""
        reply = yield from self._complete(messages, show, streaming)
        problems = check(reply)
        if not problems:
            return reply
        log.warning("model reply failed the checks: %s", "; ".join(problems))
        if not repair:
            raise Rejected(problems)
        yield Shown(f"{show('')}\n\n{REPAIRING}")
        listed = "\n".join(f"- {p}" for p in problems)
        messages = [
            *messages,
            AIMessage(reply),
            HumanMessage(self.prompts.render("repair", problems=listed, level=LEVEL_LABEL[level])),
        ]
        reply = yield from self._complete(messages, show, streaming)
        problems = check(reply)
        if problems:
            log.warning("repaired reply failed the checks too: %s", "; ".join(problems))
            raise Rejected(problems)
        return reply

    def _fall_back(self, exc: Exception, request: WriteRequest) -> Iterator[str | Shown | Draft]:
        """The extractive answer, headed by a notice saying why the model's was not used."""
        if isinstance(exc, Rejected):
            why = "its answer did not pass the citation and level checks"
        else:
            why = describe_failure(exc)
            # Unclassified errors may be bugs rather than provider trouble: keep the traceback.
            log.warning(
                "model request failed, extractive answer used: %s: %s",
                why,
                exc,
                exc_info=not isinstance(exc, ModelError),
            )
        note = (
            f"> **Note:** the language model's answer is not shown because {why}; this answer "
            "was composed directly from the corpus passages."
        )
        shown = note
        yield Shown(shown)
        draft = Draft(text="", citations=[])
        for part in self.fallback.stream(request):
            if isinstance(part, Draft):
                draft = part
            elif isinstance(part, str):
                shown = f"{shown}\n\n{part}"
                yield Shown(shown)
        yield Draft(
            text=f"{note}\n\n{draft.text}",
            citations=draft.citations,
            model=self.fallback.name,
            fallback=True,
            prompt_version=self.prompts.version,
            document=draft.document,
        )


@dataclass
class LLMSetup:
    """A validated LLM configuration, made before the index is opened so that a bad prompt
    file, a missing provider package or a missing key stops start-up at once."""

    settings: Settings
    chat: BaseChatModel
    prompts: PromptSet

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMSetup:
        prompts = load_prompts(settings.prompts_dir)
        return cls(settings=settings, chat=build_chat_model(settings), prompts=prompts)

    def writer(self, fallback: ExtractiveWriter) -> LLMWriter:
        return LLMWriter(
            chat=self.chat,
            prompts=self.prompts,
            fallback=fallback,
            name=self.settings.llm.strip(),
            office=self.settings.office_contact,
            passages=self.settings.top_k,
        )
