"""Start the web app with the settings from the environment (same as `advisor serve`)."""

from advisor.settings import Settings, configure_offline


def main() -> None:
    configure_offline()
    from advisor.ui.app import serve

    serve(Settings(), announce=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
