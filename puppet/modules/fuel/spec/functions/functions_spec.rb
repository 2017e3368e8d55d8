# frozen_string_literal: true

require 'spec_helper'

# The function specs compile site.pp too: give them a node's facts.
shared_context 'a node' do
  let(:facts) { FuelFacts::OS['centos-9'] }
end

describe 'fuel::scram_sha256' do
  include_context 'a node'

  # Verified against a real PostgreSQL 15 (Debian 12): a role created with
  # this verifier logs in with password 'S3cret pass' over scram-sha-256
  # and is refused with a wrong one.
  verified = 'SCRAM-SHA-256$4096:ZnVlbC1zYWx0LTAxMjM0NTY3ODk=$' \
             'LXKQuHTPYGg8flBv5bzlgcwamjM0pi87e+ule+XLCi4=:fv3uyNekNtq1EY1d+Yj1fFOO9N4pGgz1J+CRMAUgzis='

  it { is_expected.to run.with_params(sensitive('S3cret pass'), 'fuel-salt-0123456789').and_return(sensitive(verified)) }
  it { is_expected.not_to run.with_params(sensitive('S3cret pass!'), 'fuel-salt-0123456789').and_return(sensitive(verified)) }
  it { is_expected.to run.with_params(sensitive('S3cret pass'), 'short').and_raise_error(ArgumentError) }
  it { is_expected.to run.with_params('clear text', 'fuel-salt-0123456789').and_raise_error(ArgumentError) }
end

describe 'fuel::to_json' do
  include_context 'a node'

  it { is_expected.to run.with_params("a \"quoted\"\nline").and_return('"a \\"quoted\\"\\nline"') }
  it { is_expected.to run.with_params('k' => [1, true, nil]).and_return('{"k":[1,true,null]}') }
end

describe 'fuel::first_set' do
  include_context 'a node'

  it { is_expected.to run.with_params([nil, '', 'x', 'y']).and_return('x') }
  it { is_expected.to run.with_params([nil, '']).and_raise_error(/no value given/) }
end
