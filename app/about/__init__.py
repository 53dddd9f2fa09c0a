"""The accessibility statement, privacy notice, help and contact pages: public pages
linked from every page's footer, their text Markdown files an admin keeps."""
