# @summary Returns a required secret from a settings section as Sensitive.
#
# Fails with a message that names the missing key (never its value).
#
# @param section the hash read from astute.yaml (e.g. the `postgres` key)
# @param key the key inside that hash
# @param section_name the name of the section, for the error message
# @return [Sensitive[String]] the secret
function fuel::secret(Hash $section, String $key, String $section_name) >> Sensitive[String] {
  $value = $section[$key]
  if $value =~ Undef or String($value) == '' {
    fail("fuel: ${section_name}.${key} is missing from the Fuel settings (/etc/fuel/astute.yaml)")
  }
  Sensitive(String($value))
}
