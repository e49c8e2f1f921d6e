"""Monitors as code: the operator's YAML file (``LIGHTHOUSE_CONFIG``, examples/lighthouse.yaml).

``yamlsafe`` reads YAML as bounded plain data with lines, ``document`` gives it its shape
and locates every problem, ``apply`` plans and applies it through ``MonitorService``.
The CLI command is lighthouse/apply_cli.py; the running service's reload (start, SIGHUP,
maintenance windows) is lighthouse/config_reload.py.
"""
