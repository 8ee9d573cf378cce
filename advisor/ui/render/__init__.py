"""The only place that turns results into Markdown or HTML; text is escaped once, here."""
