// Starts GraphiQL on the page server/ide.py serves (a file, not an inline script, so the
// page's Content-Security-Policy needs nothing but 'self'). Queries and subscriptions go to
// the page's own address; the query and variables are kept in the page's URL for sharing,
// the headers (a bearer token) in the browser's storage as GraphiQL does.
(function () {
  "use strict";

  var parameters = {};
  window.location.search
    .slice(1)
    .split("&")
    .forEach(function (entry) {
      var eq = entry.indexOf("=");
      if (eq >= 0) {
        parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(
          entry.slice(eq + 1),
        );
      }
    });

  function updateURL(changes) {
    Object.assign(parameters, changes);
    var search = Object.keys(parameters)
      .filter(function (key) {
        return Boolean(parameters[key]);
      })
      .map(function (key) {
        return encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]);
      })
      .join("&");
    history.replaceState(null, "", "?" + search);
  }

  var url = window.location.href.split("?")[0].split("#")[0];
  var socketURL = new URL(url);
  socketURL.protocol = socketURL.protocol === "https:" ? "wss:" : "ws:";

  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: socketURL.toString() });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  function Page() {
    var query = React.useState(parameters.q);
    var variables = React.useState(parameters.variables);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultEditorToolsVisibility: true,
      query: query[0],
      variables: variables[0],
      onEditQuery: function (value) {
        query[1](value);
        updateURL({ q: value });
      },
      onEditVariables: function (value) {
        variables[1](value);
        updateURL({ variables: value });
      },
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
})();
