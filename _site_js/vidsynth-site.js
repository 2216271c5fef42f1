// The book's own page script (loaded after require.js, before the widget manager).
(function () {
  // 1. Offline widgets: require.js resolves module URLs against baseUrl, and the widget manager finds its icon
  //    fonts next to its own module URL. Point baseUrl at _static/ (where `make book` serves the vendored manager
  //    and its fonts), whatever the depth of the page that loads this script.
  var src = document.currentScript && document.currentScript.src;
  if (window.require && window.require.config && src) {
    window.require.config({ baseUrl: src.replace(/[^/?]*(\?.*)?$/, "") });
  }
  // 2. The widget manager typesets labels with MathJax 2's API (MathJax.Hub.Queue); the site loads MathJax 3.
  //    Give it the one call it makes, mapped onto MathJax 3 (otherwise: "Cannot read properties of undefined
  //    (reading 'Queue')" on every page with a labelled widget).
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub) { return; }
    mj.Hub = {
      Queue: function (command) {
        var element = command && command[2];
        var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
        ready.then(function () { if (mj.typesetPromise && element) { return mj.typesetPromise([element]); } });
      }
    };
  });
})();
