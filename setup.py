"""The server's packages, which pyproject.toml alone cannot say: every package under memory_api/, and
memory_api.client built from the light client's source, clients/python/src/memory_api_client/.

The client's code exists once. The distribution memory-api-client (clients/python) installs it as
`memory_api_client`; this one installs the same files as `memory_api.client`, so the server's own imports
(`from memory_api.client import MemoryAPI`) keep working, and the two distributions share no file and
can be installed side by side. Everything else about the build is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

CLIENT_SOURCE = "clients/python/src/memory_api_client"

setup(
    packages=[*find_namespace_packages(include=["memory_api", "memory_api.*"]), "memory_api.client"],
    package_dir={"memory_api.client": CLIENT_SOURCE},
)
