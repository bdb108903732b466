users:
- name: {{ .User }}
  user:
    token: {{ .Token }}
