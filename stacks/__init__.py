"""CDK stacks and the constructs they compose.

:func:`stacks.environment.build_environment` turns one environment's settings into
stacks; ``app.py`` calls it and nothing else defines resources.
"""
