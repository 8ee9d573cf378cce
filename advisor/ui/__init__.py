"""The Gradio app: pages as classes over the services, one renderer package for Markdown/HTML."""
