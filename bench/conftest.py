"""Benchmarks import the Blender layer as the package `bodyrig`, as the tests do."""

import repo_package

repo_package.install()
