"""One settings object, read from ``ADVISOR_*`` variables at the edge and passed down."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "all-MiniLM-L6-v2"

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    # Questions and passages sent to an LLM writer must not also go to a tracing service.
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
}


def configure_offline() -> None:
    """Force the offline, no-telemetry environment before any model or UI library runs.

    Called by ``build_advisor`` and the CLI so that every way of starting the app is offline.
    """
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


class Settings(BaseSettings):
    """Every tunable of the advisor. README's configuration table mirrors these fields."""

    model_config = SettingsConfigDict(env_prefix="ADVISOR_", extra="ignore")

    data_dir: Path = Field(Path(".advisor"), description="Where the index and records live.")
    corpus_dir: Path = Field(Path("corpus"), description="Documents ingested by default.")
    rules_dir: Path = Field(Path("corpus/rules"), description="Escalation rules (YAML).")
    collection: str = Field("export_advisor", description="Chroma collection name.")
    chroma_url: str | None = Field(None, description="Use a Chroma server, e.g. http://host:8000.")
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="Bundled model name, or a local sentence-transformers path.",
    )
    chunk_size: int = Field(1000, ge=200, le=8000, description="Target chunk size (characters).")
    chunk_overlap: int = Field(150, ge=0, le=2000, description="Overlap between chunks.")
    top_k: int = Field(6, ge=1, le=50, description="Passages retrieved per question.")
    lexical_retrieval: bool = Field(
        True, description="Fuse BM25 over the chunks with the dense retrieval."
    )
    min_relevance: float = Field(
        0.35, ge=0.0, le=1.0, description="Below this top score a question is out of scope."
    )
    confident_relevance: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Above this top score a question is in scope even without export vocabulary.",
    )
    max_question_chars: int = Field(4000, ge=100, description="Longest question accepted.")
    history_turns: int = Field(2, ge=0, le=10, description="Earlier turns used for retrieval.")
    max_history_turns: int = Field(
        20, ge=0, le=200, description="Earlier messages kept with a question (older ones dropped)."
    )
    max_history_chars: int = Field(
        40_000, ge=1000, description="Longest conversation accepted with a question (characters)."
    )
    determinations_dir: Path = Field(
        Path("corpus/determinations"), description="Curated determinations (YAML)."
    )
    office_contact: str = Field(
        "your institution's export control office",
        description="Who to contact, shown in every answer.",
    )
    screening_path: Path = Field(
        Path("corpus/screening/consolidated-screening-list-sample.csv"),
        description="Consolidated Screening List file (CSV or JSON).",
    )
    screening_threshold: float = Field(
        88.0, ge=50.0, le=100.0, description="Fuzzy name-match score (0-100) that counts as a hit."
    )
    screening_max_age_days: int = Field(
        7, ge=0, le=3650, description="Warn when the screening list is older than this (days)."
    )
    audit_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the audit log (default: sqlite:///<data_dir>/audit.sqlite3).",
    )
    audit_key: SecretStr | None = Field(
        None,
        description="Secret (16+ characters) keying the audit chain's HMAC "
        "(default: a random key generated once into <data_dir>/audit.key).",
    )
    audit_anchor: Path | None = Field(
        None,
        description="File the audit log's head is written to after every append "
        "(default: <data_dir>/audit-anchor.json).",
    )
    llm: str = Field(
        "extractive",
        description="Answer writer: extractive, or a LangChain init_chat_model spec such as "
        "openai:gpt-4.1-mini, anthropic:claude-sonnet-4-5 or ollama:qwen2.5:7b.",
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible server (vLLM, llama.cpp, LM Studio, a gateway)."
    )
    llm_api_key: SecretStr | None = Field(
        None, description="Key for ADVISOR_LLM_BASE_URL; provider keys stay in their own variables."
    )
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    llm_max_tokens: int = Field(900, ge=64, le=32000, description="Longest answer, in tokens.")
    llm_timeout: float = Field(60.0, gt=0.0, le=600.0, description="Seconds per model request.")
    llm_retries: int = Field(1, ge=0, le=10, description="Retries after a failed model request.")
    prompts_dir: Path = Field(Path("prompts"), description="Prompt files of the LLM writers.")
    admin_users: str | None = Field(
        None,
        description="Users of the Compliance and Evaluation tabs: name:<hash>,... "
        "(hashes from `advisor users hash`).",
    )
    users_file: Path | None = Field(None, description="YAML file of user name: <hash> lines.")
    chat_requires_login: bool = Field(
        False, description="Ask the same users to log in before the chat too."
    )
    admin_idle_minutes: float = Field(
        15.0, gt=0.0, le=1440.0, description="An admin session ends after this long unused."
    )
    admin_session_hours: float = Field(
        8.0, gt=0.0, le=168.0, description="An admin session ends this long after its login."
    )
    max_upload_mb: int = Field(20, ge=1, le=500, description="Largest document upload (MB).")
    max_pdf_pages: int = Field(500, ge=1, description="Most pages read from one PDF.")
    max_pdf_content_mb: float = Field(
        10.0, gt=0.0, description="Most decompressed page content read from one PDF (MB)."
    )
    max_document_chars: int = Field(
        2_000_000, ge=1000, description="Most extracted text per document (characters)."
    )
    max_chunks_per_document: int = Field(3000, ge=1, description="Most chunks per document.")
    max_attachment_mb: float = Field(
        10.0, gt=0.0, le=500.0, description="Largest document attached to a question (MB)."
    )
    max_attachment_pages: int = Field(
        60, ge=1, description="Most pages of an attached PDF analysed."
    )
    max_attachment_chars: int = Field(
        150_000, ge=1000, description="Most characters of an attachment analysed."
    )
    ingest_lock_timeout: float = Field(
        30.0, ge=0.0, le=3600.0, description="Seconds a writer waits for another ingest."
    )
    ingest_batch_size: int = Field(
        256, ge=1, le=5000, description="Chunks written to the index per call."
    )
    host: str = Field("127.0.0.1", description="Address the app listens on.")
    port: int = Field(7860, description="Port the app listens on.")
    mcp: bool = Field(
        True, description="Serve the advisor's tools over MCP (streamable HTTP) at /mcp."
    )

    def resolved(self) -> Settings:
        """Absolute paths, so sources and ids do not depend on the working directory."""
        return self.model_copy(
            update={
                "data_dir": self.data_dir.expanduser().resolve(),
                "corpus_dir": self.corpus_dir.expanduser().resolve(),
                "rules_dir": self.rules_dir.expanduser().resolve(),
                "determinations_dir": self.determinations_dir.expanduser().resolve(),
                "screening_path": self.screening_path.expanduser().resolve(),
                "prompts_dir": self.prompts_dir.expanduser().resolve(),
            }
        )
