# @summary PostgreSQL with the nailgun, keystone and ostf databases.
#
# Roles are created with the md5 hash of the password (never the clear
# text) computed by postgresql::postgresql_password.
#
# @param globals
#   Parameters for postgresql::globals (package/service names and paths per
#   distribution, from fuel::params).
# @param listen_addresses
#   Addresses PostgreSQL listens on. Only local clients use it.
class fuel::postgresql (
  Hash $globals = $fuel::params::postgresql_globals,
  String $listen_addresses = 'localhost',
) inherits fuel::params {
  include fuel::settings

  class { 'postgresql::globals':
    * => $globals,
  }
  -> class { 'postgresql::server':
    listen_addresses => $listen_addresses,
  }

  $databases = {
    'nailgun'  => [$fuel::settings::nailgun_db_name, $fuel::settings::nailgun_db_user, $fuel::settings::nailgun_db_password],
    'keystone' => [$fuel::settings::keystone_db_name, $fuel::settings::keystone_db_user, $fuel::settings::keystone_db_password],
    'ostf'     => [$fuel::settings::ostf_db_name, $fuel::settings::ostf_db_user, $fuel::settings::ostf_db_password],
  }

  $databases.each |$component, $db| {
    postgresql::server::db { $db[0]:
      user     => $db[1],
      password => postgresql::postgresql_password($db[1], $db[2].unwrap),
      encoding => 'UTF8',
    }
  }
}
