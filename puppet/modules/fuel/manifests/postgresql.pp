# @summary PostgreSQL with the nailgun, keystone and ostf databases, from
#   plain resources (no Forge module).
#
# The package's initdb runs once (guarded by the data directory's
# PG_VERSION); pg_hba.conf is owned by this class; each database and its
# role come from an idempotent SQL file run by psql as postgres.
#
# Secrets: a role's password is written as its SCRAM-SHA-256 verifier
# (computed here, never the clear text) into a root-only 0600 SQL file that
# psql reads on its standard input, so no password or verifier is on any
# command line. A second SQL file checks that the role, its verifier and
# the database are as wanted; only when the check fails is the first one
# run (so a failed run is retried, and a changed password is applied).
#
# @param package
#   The server package.
# @param service
#   The server unit.
# @param datadir
#   The data directory (PGDATA).
# @param initdb_command
#   Creates the cluster in datadir (run once).
# @param initdb_user
#   The user that runs initdb_command.
# @param statedir
#   Root-only directory for the SQL files.
# @param exec_path
#   Where commands are looked up (runuser, psql, rabbitmqctl, firewall-cmd...).
class fuel::postgresql (
  String $package,
  String $service,
  Fuel::Absolutepath $datadir,
  String $initdb_command,
  String $initdb_user,
  Array[Fuel::Absolutepath] $exec_path,
  Fuel::Absolutepath $statedir = '/var/lib/fuel/postgresql',
) {
  include fuel::settings

  package { $package:
    ensure => installed,
  }

  exec { 'postgresql initdb':
    command => $initdb_command,
    user    => $initdb_user,
    path    => $exec_path,
    creates => "${datadir}/PG_VERSION",
    require => Package[$package],
  }

  $databases = [
    [$fuel::settings::nailgun_db_name, $fuel::settings::nailgun_db_user, $fuel::settings::nailgun_db_password],
    [$fuel::settings::keystone_db_name, $fuel::settings::keystone_db_user, $fuel::settings::keystone_db_password],
    [$fuel::settings::ostf_db_name, $fuel::settings::ostf_db_user, $fuel::settings::ostf_db_password],
  ]

  # Local clients only: peer for the postgres superuser and Unix sockets,
  # a password (md5 also accepts the SCRAM verifiers stored below) for
  # each Fuel role over loopback TCP.
  file { "${datadir}/pg_hba.conf":
    ensure  => file,
    owner   => 'postgres',
    group   => 'postgres',
    mode    => '0600',
    content => epp('fuel/postgresql/pg_hba.conf.epp', {
      'databases' => $databases.map |$db| { [$db[0], $db[1]] },
    }),
    require => Exec['postgresql initdb'],
    notify  => Service[$service],
  }

  service { $service:
    ensure => running,
    enable => true,
  }

  file { $statedir:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0700',
  }

  $psql = 'runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres'
  $databases.each |$db| {
    $name = $db[0]
    $role = $db[1]
    # A salt per host and role keeps the verifier stable between runs.
    $salt = sha256("fuel-postgresql:${facts['networking']['fqdn']}:${role}")[0, 32]
    $verifier = fuel::scram_sha256($db[2], $salt)
    $vars = { 'database' => $name, 'role' => $role, 'verifier' => $verifier }

    file { "${statedir}/${name}.sql":
      ensure    => file,
      owner     => 'root',
      group     => 'root',
      mode      => '0600',
      content   => Sensitive(epp('fuel/postgresql/database.sql.epp', $vars)),
      show_diff => false,
      backup    => false,
    }
    file { "${statedir}/${name}.check.sql":
      ensure    => file,
      owner     => 'root',
      group     => 'root',
      mode      => '0600',
      content   => Sensitive(epp('fuel/postgresql/database.check.sql.epp', $vars)),
      show_diff => false,
      backup    => false,
    }
    # The root shell opens the file; psql (as postgres) reads it on stdin.
    exec { "postgresql database ${name}":
      command   => "${psql} < ${statedir}/${name}.sql",
      unless    => "${psql} -tA < ${statedir}/${name}.check.sql | grep -qx t",
      provider  => 'shell',
      path      => $exec_path,
      logoutput => 'on_failure',
      require   => [Service[$service], File["${statedir}/${name}.sql", "${statedir}/${name}.check.sql"]],
    }
  }
}
