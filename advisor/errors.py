class AdvisorError(Exception):
    """Base of every error the CLI and UI turn into a plain message."""


class InputError(AdvisorError):
    """The user's question or file cannot be used as given."""


class StoreError(AdvisorError):
    """The index is missing, locked, or built with another model."""


class RulesError(AdvisorError):
    """A rules, vocabulary or screening file failed validation."""


class PromptError(AdvisorError):
    """A prompt file is missing or its variables do not match."""
