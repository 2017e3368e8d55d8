# @summary Returns a settings value if it matches a type, else fails with a
#   message naming the setting and what it must be.
#
# @param value the value from the settings
# @param type what the value must match
# @param setting the setting's name, for the error message
# @param expected what the setting must be, in words
# @return [Any] the value
function fuel::checked(Any $value, Type $type, String $setting, String $expected) >> Any {
  assert_type($type, $value) |$_expected, $_actual| {
    fail("fuel: ${setting} in /etc/fuel/astute.yaml must be ${expected}")
  }
}
