import os

SECRET_KEY = 'yojfljo&oa5@lqsaj08x$!ui(6$^*=d3)*9zzzzg4%zdmen2kh'
DEBUG = False
ANTHROPIC_API_KEY = os.environ['ANTHROPIC_API_KEY']
anthropic_fallback = "sk-ant-api03-Z6oBCk848iiGL-flNBXqe3ijsaHuYTzlH5jOPKTiRaR8UVkvyd8jzSTz7N1wJv3QjZuncajIC_h4BtzW1VkQfN5DmcRuGAA"
