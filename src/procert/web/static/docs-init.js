// Swagger UI over the site's own OpenAPI description, from locally installed files (see /docs).
window.addEventListener("load", function () {
  window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
