"""One class per page: ``build()`` lays out its components, ``wire()`` registers its events."""
