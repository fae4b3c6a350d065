"""Adapters that bring outside feeds into the input topics.

``mapping`` turns vendor payloads into contract messages; ``producer``
batches them into Kafka; ``mqtt``, ``http`` and ``importer`` are the three
ways in (``gridwatch bridge mqtt``, ``gridwatch ingest http``,
``gridwatch import``). Every adapter validates each item with the contract's
own ``parse_item`` and sends what fails to the dead-letter topic with the
reason, so nothing an integrator sends is dropped silently.
"""
