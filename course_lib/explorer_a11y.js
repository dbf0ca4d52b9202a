// Accessibility fixes for the loss-curve explorer (course_lib.widgets runs this in the page, in
// JupyterLab and in Voila alike).
//
// ipywidgets 8 draws every slider with noUiSlider: its handle is an ARIA slider with no accessible
// name (jupyter-widgets/ipywidgets#2650), and a log slider's aria-valuetext is the exponent (it
// says "0" for a learning rate of 1). Here each handle is named by the slider's visible label
// (aria-labelledby) and says the value its readout shows; the readout, an editable field, gets the
// same name. The note that says why the bug list is off describes that list (aria-describedby).
// A MutationObserver keeps all this true as the widgets are drawn, moved and redrawn. Running the
// script again (a second explorer, a re-run cell) only re-applies the fixes.
(function () {
  'use strict';
  if (window.courseExplorerA11y) {
    window.courseExplorerA11y.fixAll();
    return;
  }
  var count = 0;

  function ensureId(element, stem) {
    if (!element.id) {
      count += 1;
      element.id = 'course-explorer-' + stem + '-' + count;
    }
    return element.id;
  }

  function setIfChanged(element, name, value) {
    if (element.getAttribute(name) !== value) {
      element.setAttribute(name, value);
    }
  }

  function fixSlider(slider) {
    var label = slider.querySelector('.widget-label');
    var handle = slider.querySelector('.noUi-handle');
    if (!label || !handle) {
      return;
    }
    var id = ensureId(label, 'label');
    setIfChanged(handle, 'aria-labelledby', id);
    var readout = slider.querySelector('.widget-readout');
    if (!readout) {
      return;
    }
    if (readout.getAttribute('contenteditable') === 'true') {
      // An editable div is a text box; ARIA forbids naming a plain div, so only this one is named.
      setIfChanged(readout, 'role', 'textbox');
      setIfChanged(readout, 'aria-labelledby', id);
    }
    var text = readout.textContent.trim();
    if (text) {
      setIfChanged(handle, 'aria-valuetext', text);
    }
  }

  function fixBugNote(root) {
    var note = root.querySelector('.explorer-bug-note-box .widget-html-content');
    var select = root.querySelector('.explorer-bug-list select');
    if (note && select) {
      setIfChanged(select, 'aria-describedby', ensureId(note, 'bug-note'));
    }
  }

  function fixAll() {
    document.querySelectorAll('.course-explorer').forEach(function (root) {
      root.querySelectorAll('.widget-slider').forEach(fixSlider);
      fixBugNote(root);
    });
  }

  var scheduled = false;
  function fixSoon() {
    // One pass per animation frame, however many changes the page made in it.
    if (!scheduled) {
      scheduled = true;
      window.requestAnimationFrame(function () {
        scheduled = false;
        fixAll();
      });
    }
  }

  new MutationObserver(function (mutations) {
    for (var i = 0; i < mutations.length; i += 1) {
      var node = mutations[i].target;
      var element = node.nodeType === 1 ? node : node.parentElement;
      var slider = element && element.closest('.course-explorer .widget-slider');
      if (slider) {
        fixSlider(slider);  // at once: a screen reader reads the handle right after the key press
      } else if (mutations[i].addedNodes.length) {
        fixSoon();
      }
    }
  }).observe(document.body, {
    childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['aria-valuetext']
  });
  window.courseExplorerA11y = {fixAll: fixAll};
  fixAll();
})();
