"""The course as a website: the executed notebooks, the course map, the results, the API.

``python -m a3c_course.site build`` builds it (Sphinx with MyST-NB);
``python -m a3c_course.site check`` opens it in headless Chromium and checks it.
"""
