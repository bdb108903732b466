require "octokit"
client = Octokit::Client.new(access_token: "ghs_1F8ResqEDusTpkr0cStY4qWB8dWKnH0ntquq")
client.user
