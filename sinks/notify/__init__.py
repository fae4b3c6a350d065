"""The notify stage: ``gw.alerts`` → webhooks and files, at least once, with retries.

One folder per integration (``webhook.py``, ``file.py``), as Alertmanager's
``notify/``; ``retry.py`` is the retry/backoff stage, ``stage.py`` the pure
pipeline (filter → group → deliver → dead letter), ``runner.py`` the Kafka
loop behind ``gridwatch notify``.
"""
