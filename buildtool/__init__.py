"""buildtool: service manifest -> RPM specs -> RPMs -> signed yum/dnf repository."""

__version__ = "0.1.0"
