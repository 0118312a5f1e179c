"""The Dagster side of dagster-oidc.

- :class:`ExecRunLauncher` runs each run worker as a local
  ``dagster-oidc exec ... -- dagster api execute_run`` process.
- :class:`OIDCIdentity` gives ops the ID token, its claims and refreshing
  boto3 sessions through the ``dagster-oidc`` binary.
"""

from dagster_oidc._binary import DagsterOIDCError
from dagster_oidc.launcher import ExecRunLauncher
from dagster_oidc.resource import OIDCIdentity

__all__ = ["DagsterOIDCError", "ExecRunLauncher", "OIDCIdentity"]
