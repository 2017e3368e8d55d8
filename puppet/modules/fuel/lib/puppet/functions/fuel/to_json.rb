# frozen_string_literal: true

require 'json'

# Returns a value as JSON text (also valid YAML): used by the templates to
# quote settings values safely. Core Puppet 7 and 8 have no to_json.
Puppet::Functions.create_function(:'fuel::to_json') do
  # @param value strings, numbers, booleans, arrays and hashes of them
  # @return [String] the JSON text
  dispatch :to_json do
    param 'Variant[ScalarData, Undef, Array, Hash]', :value
    return_type 'String'
  end

  def to_json(value)
    JSON.generate(value)
  end
end
