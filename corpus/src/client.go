package client

const (
	gitlabToken = "glpat-rz-L148vbRFbXwoFfvVJ"
	baseURL     = "https://gitlab.example.com/api/v4"
)

func Token() string { return gitlabToken }
