-- staging snapshot, 2024-05-03
INSERT INTO service_accounts (name, api_key, created_at) VALUES
  ('billing', 'Qx7mR2vL9pT4wZ8nK3sD6fHj', NOW()),
  ('ops', NULL, NOW());
INSERT INTO users (email, password) VALUES ('ops@corp.local', 'Wint3r-Is-C0ming!');
