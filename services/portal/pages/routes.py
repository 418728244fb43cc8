"""The portal's pages (placeholder until the pages land)."""


def install(app, ctx) -> None:
    return None
