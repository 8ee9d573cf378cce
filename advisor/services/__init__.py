"""Domain services under the UI and the CLI: typed results, no Markdown, no Gradio."""
