"""The contract every page keeps (kotaemon's shape: building and event wiring separated)."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Page(ABC):
    """A page builds its components inside the current ``gr.Blocks`` and wires them after
    every page is built, so one page's events may update another page's components.

    Handlers are methods that return ``{component: value}`` updates, never positional tuples.
    """

    @abstractmethod
    def build(self) -> None:
        """Create the components (inside the caller's Blocks/Tab context)."""

    @abstractmethod
    def wire(self) -> None:
        """Register the events; called once, after every page is built."""
