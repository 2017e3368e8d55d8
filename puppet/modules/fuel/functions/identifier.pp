# @summary Returns a user, role, database or vhost name from a settings
#   section (or its default), checked to be a plain name.
#
# These names are interpolated into SQL and rabbitmqctl commands, so they
# are limited to lower-case letters, digits and underscores.
#
# @param section the hash read from astute.yaml (e.g. the `postgres` key)
# @param key the key inside that hash
# @param default the name used when the key is absent or empty
# @param section_name the name of the section, for the error message
# @return [Fuel::Identifier] the name
function fuel::identifier(Hash $section, String $key, String $default, String $section_name) >> Fuel::Identifier {
  fuel::checked(fuel::first_set([$section[$key], $default]), Fuel::Identifier,
    "${section_name}.${key}", 'a plain name (lower-case letters, digits, underscores)')
}
