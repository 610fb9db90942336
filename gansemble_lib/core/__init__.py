"""Plumbing every layer uses: names, errors, parameters and profiles, atomic files, tables,
figure drawing, progress lines and the pinned numerical path. Imports nothing else of the
library."""
