"""Spends its short life importing: ferret's exit hook is registered from a pending call,
which must never import while the import system's own code is running (that corrupted the
import: KeyError in importlib's module lock, then a fatal error at start-up)."""
import argparse, collections, decimal, email.parser, fractions, http.client, json  # noqa
import logging, unittest, xml.dom.minidom  # noqa

KEEP = [bytearray(256 << 10) for _ in range(40)]  # LINE:KEEP (10 MiB: always sampled)
