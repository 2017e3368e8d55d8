# @summary A PostgreSQL or RabbitMQ name that needs no quoting in SQL or shell
#   commands (database, role, user and vhost names from the settings).
type Fuel::Identifier = Pattern[/\A[a-z_][a-z0-9_]{0,62}\z/]
