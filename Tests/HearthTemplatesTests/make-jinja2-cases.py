# Regenerates jinja2-cases.json: each case rendered by Python jinja2 (3.1.6) in the environment of Hugging Face's
# apply_chat_template (see ../../../shared/reference/README.md). Run: python3 make-jinja2-cases.py jinja2-cases.json
# (name, template, context-json)
# (name, template, context-json)
C = [
("ws_dash", "a  {%- if true -%}  \n x \n  {%- endif -%}  b", "{}"),
("ws_lstrip_trim", "a\n  {% if true %}\n  b\n  {% endif %}\nc", "{}"),
("ws_plus", "a\n  {%+ if true +%}\n  b\n  {% endif %}\nc", "{}"),
("ws_var_no_lstrip", "a\n  {{ 'x' }}\n  {% if true %}y{% endif %}  \n", "{}"),
("ws_comment", "a\n  {# note #}\nb{#- x -#}  c {# y #}\nd", "{}"),
("ws_raw", "x {% raw %}{{ y }} {% if %}{% endraw %} z\n  {%- raw -%}  r  {%- endraw %}\nw", "{}"),
("ws_crlf_trailing", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n", "{}"),
("ws_inline_tags", "{% for i in [1,2] %}  {{ i }}  {% endfor %}|", "{}"),
("ws_trim_var_end", "{{ 'a' -}}\n\n  b {{- ' c ' }}", "{}"),
("loop_vars", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}", '{"xs": ["a","b","c"]}'),
("loop_prev_next", "{% for x in xs %}[{{ loop.previtem }},{{ loop.nextitem }},{{ loop.previtem is defined }}]{% endfor %}", '{"xs": [1,2,3]}'),
("loop_cycle", "{% for x in xs %}{{ loop.cycle('odd', 'even') }} {% endfor %}", '{"xs": [1,2,3]}'),
("loop_else", "{% for x in xs %}{{ x }}{% else %}empty{% endfor %}", '{"xs": []}'),
("loop_filter", "{% for x in xs if x % 2 == 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% else %}none{% endfor %}", '{"xs": [1,2,3,4,5]}'),
("loop_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1,2],[3,4]] %}{{ a + b }}{% endfor %}", '{"d": {"z": 1, "a": 2}}'),
("loop_dict_string", "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'héllo' %}{{ c }}.{% endfor %}", '{"d": {"z": 1, "a": 2}}'),
("loop_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", "{}"),
("loop_nested", "{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %}", "{}"),
("scope_loop", "{% set x = 1 %}{% for i in [1,2] %}{% set x = x + i %}{{ x }}{% endfor %}|{{ x }}", "{}"),
("scope_if", "{% if true %}{% set y = 5 %}{% endif %}{{ y }}", "{}"),
("namespace", "{% set ns = namespace(total=0, found=false) %}{% for i in [1,2,3] %}{% set ns.total = ns.total + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.total }} {{ ns.found }}", "{}"),
("set_block", "{% set body %}  hello {{ name }}  {% endset %}[{{ body }}]{% set t | upper | trim %} shout {% endset %}[{{ t }}]", '{"name": "bob"}'),
("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = (3, 4) %}{{ c[1] }}", "{}"),
("macro_defaults", "{% macro greet(name, greeting='Hello', punct=none) %}{{ greeting }}, {{ name }}{{ punct if punct else '!' }}{% endmacro %}{{ greet('A') }} {{ greet('B', 'Hi') }} {{ greet(name='C', punct='?') }}", "{}"),
("macro_missing_arg", "{% macro f(a, b) %}[{{ a }}|{{ b }}|{{ b is defined }}]{% endmacro %}{{ f(1) }}", "{}"),
("macro_recursive", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * (fact(n - 1) | int) }}{% endif %}{% endmacro %}{{ fact(5) }}", "{}"),
("macro_caller", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 + 1 }}{% endcall %}", "{}"),
("macro_caller_args", "{% macro each(items) %}{% for i in items %}{{ caller(i, loop.index) }}{% endfor %}{% endmacro %}{% call(item, n) each(['x','y']) %}{{ n }}:{{ item }} {% endcall %}", "{}"),
("macro_sees_globals", "{% set g = 'G' %}{% macro m() %}{{ g }}{{ bos_token }}{% endmacro %}{{ m() }}", '{"bos_token": "<s>"}'),
("filter_block", "{% filter upper %}hello {{ 'world' }}{% endfilter %}", "{}"),
("generation_block", "a{% generation %}b{{ 1 }}{% endgeneration %}c", "{}"),
("arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 1 + 2 * 3 - 4 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 7.5 // 2 }} {{ 7.5 % 2 }} {{ 3 - -1 }} {{ +3 }}", "{}"),
("arith_float_print", "{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 1.5e-5 }} {{ 0.0001 }} {{ 100.0 / 3 }} {{ 2.0 * 3 }} {{ 1 / 8 }} {{ 123456789.125 }}", "{}"),
("concat_tilde", "{{ 'a' ~ 1 ~ none ~ true ~ [1] ~ undefined_thing ~ 2.5 }}", "{}"),
("string_concat_plus", "{{ 'a' + 'b' }}{{ [1] + [2, 3] }}", "{}"),
("string_mult", "{{ 'ab' * 3 }}{{ 2 * 'x' }}{{ [0] * 3 }}{{ 'x' * 0 }}|", "{}"),
("compare", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1,2] < [1,3] }} {{ 1 != 2 }} {{ 2 >= 2 }} {{ true == 1 }} {{ none == none }} {{ 'a' == 'a' }}", "{}"),
("in_notin", "{{ 'b' in 'abc' }} {{ 2 in [1,2] }} {{ 'k' in d }} {{ 'z' not in d }} {{ 3 not in [1,2] }} {{ '' in 'x' }}", '{"d": {"k": 1}}'),
("and_or_values", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }}| {{ none or [] }} {{ not 0 }} {{ not 'a' }} {{ 1 and 0 or 5 }}", "{}"),
("condexpr", "{{ 'y' if true else 'n' }} {{ 'y' if false else 'n' }} [{{ 'y' if false }}] {{ 1 if none else 2 if true else 3 }}", "{}"),
("subscript_slice", "{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[-2:] }} {{ xs[1:3] }} {{ xs[5:] }} {{ xs[::-2] }} {{ xs[3:0:-1] }} {{ 'hello'[1:4] }} {{ 'hello'[::-1] }} {{ 'héllo'[1] }} {{ xs.0 }}", '{"xs": [1,2,3,4,5]}'),
("attr_vs_item", "{{ d.a }} {{ d['a'] }} {{ d.items() | list }} {{ d['items'] }} {{ d.missing }}|{{ d.nested.x }} {{ d['nested']['x'] }}", '{"d": {"a": 1, "items": "I", "nested": {"x": "X"}}}'),
("print_values", "{{ none }} {{ true }} {{ false }} {{ [1, 'a', none, true, 2.5, [\"q'\"], {'k': 'v'}] }} {{ {'a': {'b': [1]}} }} {{ 'it\\'s' }} {{ ['it\\'s', \"say \\\"x\\\"\", 'both \\' \"'] }} {{ ['\\n\\t\\\\'] }} {{ (1, 2) | list }}", "{}"),
("print_unicode_repr", "{{ ['é', '日本', '😀', '\\x00'] }}", "{}"),
("literals", "{{ [1, 2, 3,] }} {{ {'a': 1, 'b': [2],} }} {{ 'a' 'b' }} {{ \"dq\" }} {{ 0x1F if false else 10 }} {{ 1_000 }} {{ True }} {{ None }}", "{}"),
("filters_text", "{{ '  hi  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'hELLo wORLD' | capitalize }}|{{ 'hello world-foo(bar' | title }}|{{ 'aXb' | lower }}{{ 'aXb' | upper }}|{{ 'a-b-c' | replace('-', '+') }}|{{ 'a-b-c' | replace('-', '', 1) }}", "{}"),
("filters_len", "{{ [1,2,3] | length }} {{ 'héllo' | length }} {{ {'a':1} | length }} {{ [1,2] | count }} {{ missing | length }}", "{}"),
("filters_first_last", "{{ [1,2,3] | first }} {{ [1,2,3] | last }} {{ 'abc' | first }} {{ 'abc' | last }} [{{ [] | first }}]", "{}"),
("filters_join", "{{ [1,2,3] | join }} {{ [1,2,3] | join(', ') }} {{ users | join(', ', attribute='name') }} {{ 'abc' | join('-') }}", '{"users": [{"name": "a"}, {"name": "b"}]}'),
("filters_default", "{{ missing | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} {{ none | default('d') }} {{ none | d('x', true) }} {{ 0 | default(5, boolean=true) }}", "{}"),
("filters_tojson", "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ d | tojson(sort_keys=true) }}|{{ 'é<>&\\'\"\\n' | tojson }}|{{ [] | tojson }}{{ {} | tojson }}{{ [[]] | tojson(indent=2) }}|{{ 1.0 | tojson }} {{ 1e20 | tojson }} {{ none | tojson }} {{ true | tojson }}|{{ d | tojson(separators=(',', ':')) }}|{{ 'é' | tojson(ensure_ascii=true) }}", '{"d": {"z": [1, 2.5, null, true], "a": {"x": "y"}, "u": "\\u00e9\\u65e5"}}'),
("filters_conv", "{{ 3 | string }}{{ '42' | int + 1 }} {{ '3.9' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.7 | int }} {{ '2.5' | float }} {{ 2 | float }} {{ 'ab' | list }} {{ {'a':1,'b':2} | list }} {{ true | int }} {{ '0x1A' | int(0, 16) }}", "{}"),
("filters_items", "{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}{{ d | items | list }}", '{"d": {"b": 1, "a": 2}}'),
("filters_select", "{{ xs | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }} {{ xs | rejectattr('role', 'eq', 'user') | list | length }} {{ xs | selectattr('tool') | list | length }} {{ [1,2,3,4] | select('odd') | list }} {{ [1,2,3,4] | reject('even') | list }} {{ [0,1,'',2] | select | list }} {{ xs | map(attribute='missing', default='?') | list }} {{ ['a','b'] | map('upper') | list }} {{ xs | selectattr('role', 'in', ['tool', 'x']) | list | length }}", '{"xs": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "tool": 1}, {"role": "user", "content": "c"}]}'),
("filters_unique_sort", "{{ ['b','A','a','c','B'] | unique | list }} {{ ['b','A','a'] | unique(case_sensitive=true) | list }} {{ [3,1,2] | sort }} {{ [3,1,2] | sort(reverse=true) }} {{ ['b','A','c'] | sort }} {{ ['b','A','c'] | sort(case_sensitive=true) }} {{ xs | sort(attribute='n') | map(attribute='k') | list }} {{ [1,2,3] | reverse | list }} {{ 'abc' | reverse }}", '{"xs": [{"n": 2, "k": "b"}, {"n": 1, "k": "a"}, {"n": 2, "k": "c"}]}'),
("filters_indent", "[{{ 'a\\nb\\n\\nc' | indent }}] [{{ 'a\\nb' | indent(2, true) }}] [{{ 'a\\n\\nb' | indent(2, blank=true) }}] [{{ 'a\\nb' | indent('> ') }}] [{{ 'x' | indent(first=true) }}]", "{}"),
("filters_num", "{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(method='floor') }} {{ -3 | abs }} {{ -2.5 | abs }} {{ [1,2,3] | sum }} {{ [1,5,3] | max }} {{ [4,2,8] | min }} {{ xs | sum(attribute='n') }}", '{"xs": [{"n": 2}, {"n": 5}]}'),
("filters_misc", "{{ [1,2,3,4,5] | batch(2) | list }} {{ [1,2,3] | batch(2, 0) | list }} {{ {'b': 1, 'a': 2} | dictsort }} {{ 'a b  c' | wordcount }} [{{ 'ab' | center(6) }}] {{ '<a href=\"x\">&\\'' | e }} {{ '<b>' | safe }} {{ d | attr('k') }} {{ '%s-%d' | format('a', 3) }} {{ 'x=%s' % 5 }}", '{"d": {"k": "v"}}'),
("tests", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ s is string }} {{ 1 is number }} {{ 1.5 is number }} {{ 1 is integer }} {{ 1.5 is integer }} {{ 1.5 is float }} {{ d is mapping }} {{ l is mapping }} {{ l is iterable }} {{ s is iterable }} {{ 1 is iterable }} {{ l is sequence }} {{ d is sequence }} {{ true is boolean }} {{ 1 is boolean }} {{ true is true }} {{ false is false }} {{ 0 is false }} {{ 3 is odd }} {{ 3 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ s is equalto 'str' }} {{ s is eq 'x' }} {{ 1 is ne 2 }} {{ 2 is in [1,2] }} {{ 3 is gt 2 }} {{ 3 is lt 2 }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ x is not none }} {{ y is not defined }} {{ f is callable }}", '{"x": 1, "n": null, "s": "str", "d": {}, "l": [1]}'),
("str_methods", "[{{ '  a b  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '  a '.lstrip() }}][{{ '  a '.rstrip() }}][{{ 'a\\n'.rstrip('\\n') }}] {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ ' a b c '.split(none, 1) }} {{ 'abc'.startswith('ab') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith('bc') }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'Hi'.upper() }}{{ 'Hi'.lower() }} {{ 'hello world'.title() }} {{ 'hello'.capitalize() }} {{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ '{} and {}'.format(1, 'b') }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='N') }} {{ ', '.join(['a', 'b']) }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }}", "{}"),
("dict_methods", "{{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.items() | list }} {% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", '{"d": {"b": 1, "a": 2}}'),
("list_methods", "{{ l.index(2) }} {{ l.count(1) }}", '{"l": [1, 2, 1]}'),
("undefined_print", "[{{ x }}][{{ d.nope }}][{{ d['nope'] }}][{{ l[10] }}][{{ n.attr }}][{% for i in x %}{{ i }}{% endfor %}][{{ x | string }}][{{ 'a' in x }}][{{ x == x }}][{{ x is none }}]", '{"d": {}, "l": [], "n": null}'),
("range_fn", "{{ range(3) | list }} {{ range(1, 4) | list }} {{ range(10, 0, -3) | list }} {{ range(0) | list }} {% for i in range(2) %}{{ i }}{% endfor %}", "{}"),
("strftime", "{{ strftime_now('%Y-%m-%d %H:%M:%S') }}|{{ strftime_now('%B %d, %Y') }}|{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %a %j %p %I %y') }}|{{ strftime_now('%-d %-m') }}", "{}"),
("whitespace_message_loop", "{%- for message in messages %}\n    {%- if message.role == 'user' %}\n        {{- '<u>' + message.content | trim + '</u>\\n' }}\n    {%- elif message.role == 'assistant' %}\n{{ message.content }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<a>' }}\n{%- endif %}\n", '{"messages": [{"role": "user", "content": " hi "}, {"role": "assistant", "content": "yo"}], "add_generation_prompt": true}'),
("with_block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", "{}"),
("err_raise", "{{ raise_exception('nope') }}", "{}"),
("err_undefined_attr", "{{ x.y }}", "{}"),
("err_undefined_chain", "{{ d.a.b }}", '{"d": {}}'),
("err_str_plus_int", "{{ 'a' + 1 }}", "{}"),
("err_str_plus_dict", "{{ 'a' + d }}", '{"d": {}}'),
("err_undefined_plus", "{{ x + 1 }}", "{}"),
("err_unknown_filter", "{{ 1 | nosuchfilter }}", "{}"),
("err_unknown_test", "{{ 1 is nosuchtest }}", "{}"),
("err_append", "{% set l = [] %}{{ l.append(1) }}", "{}"),
("err_update", "{% set d = {} %}{{ d.update({'a': 1}) }}", "{}"),
("err_div_zero", "{{ 1 / 0 }}", "{}"),
("err_mod_zero", "{{ 1 % 0 }}", "{}"),
("err_compare_types", "{{ 1 < 'a' }}", "{}"),
("err_iter_none", "{% for x in none %}{% endfor %}", "{}"),
("err_unpack", "{% for a, b in [[1,2,3]] %}{% endfor %}", "{}"),
("err_call_string", "{{ 'a'() }}", "{}"),
("err_tojson_undefined", "{{ x | tojson }}", "{}"),
("err_syntax_unclosed_if", "{% if true %}x", "{}"),
("err_syntax_unknown_tag", "{% frobnicate %}", "{}"),
("err_syntax_bad_expr", "{{ 1 + }}", "{}"),
("err_syntax_unclosed_var", "{{ 1 ", "{}"),
("err_syntax_unclosed_comment", "{# x ", "{}"),
("err_syntax_mismatched", "{{ (1] }}", "{}"),
("err_syntax_endfor", "{% for x in y %}{% endif %}", "{}"),
("err_ns_assign", "{% set x = 1 %}{% set x.a = 2 %}", "{}"),
("err_macro_too_many", "{% macro f(a) %}{% endmacro %}{{ f(1, 2) }}", "{}"),
("err_first_arg_int", "{{ 'abc'.startswith(1) }}", "{}"),
("err_join_int", "{{ ', '.join([1, 2]) }}", "{}"),
("err_dict_key_missing_subscript", "{{ d['a']['b'] }}", '{"d": {}}'),
]
C += [
("tojson_negative_indent", "{{ {'a': [1, {'b': 2}]} | tojson(indent=-1) }}|{{ [1] | tojson(indent=0) }}", "{}"),
("divisible_minus_one", "{{ -9223372036854775807 is divisibleby(-1) }} {{ 10 is divisibleby 3 }}", "{}"),
("divisible_no_arg_err", "{{ 4 is divisibleby -1 }}", "{}"),
("printf_forms", "{{ '%d|%i|%s|%r|%%' % (3.9, -2, 'x', 'y') }}", "{}"),
("format_conversions", "{{ '{!r} {!s}'.format('a', 'b') }} {{ '{1!r}{0}'.format('a', 'b') }}", "{}"),
("format_mixed_numbering_err", "{{ '{} {0}'.format('a') }}", "{}"),
("tuple_forms", "{{ (1,) }} {{ () }} {{ (1, 'a') }} {{ (1, 2) == [1, 2] }} {{ (1, 2) + (3,) }} {{ ('a', 'b') | join('-') }} {{ 'ab'.startswith(('x', 'a')) }}", "{}"),
("nested_namespace_repr", "{% set ns = namespace(a=1, l=[1, 'x']) %}{{ ns }}", "{}"),
("loop_over_tuple_items", "{% for k, v in {'a': 1}.items() %}{{ k }}{{ v }}{% endfor %}{{ {'a': 1}.items() | list | first }}", "{}"),
("string_iteration_filters", "{{ 'héllo' | list | length }} {{ 'abc' | batch(2) | list }} {{ 'cab' | sort | join }}", "{}"),
("undefined_method_call_err", "{{ undefined_name.strip() }}", "{}"),
("numeric_edge_filters", "{{ 1e3 is even }} {{ 3.0 is odd }} {{ true | round }} {{ 2 | round }} {{ 2 | round(0, 'ceil') }} {{ 2.5 is divisibleby 0.5 }} {{ false | select | list }} {{ 0 | reject | list }} {{ 'h,e l_l-o 42' | wordcount }}", "{}"),
("err_indent_int", "{{ 3 | indent }}", "{}"),
("err_unhashable_in", "{{ {} in {'a': 1} }}", "{}"),
("err_int_undefined", "{{ nothing | int }}", "{}"),
("err_slice_runtime", "{{ n[1:] }}", '{"n": 5}'),
("block_scopes", "{% set b = 1 %}{% set blk %}{% set b = 2 %}{{ b }}{% endset %}{{ blk }}{{ b }}{% filter upper %}{% set b = 3 %}{{ b }}{% endfilter %}{{ b }}{% if true %}{% set b = 4 %}{% endif %}{{ b }}{% with %}{% set b = 5 %}{% endwith %}{{ b }}{% macro m() %}{% set b = 6 %}{% endmacro %}{{ m() }}{{ b }}", "{}"),
("break_in_blocks", "{% for i in [1,2,3] %}{{ i }}{% set x %}a{% if i == 2 %}{% break %}{% endif %}{% endset %}[{{ x }}]{% endfor %}|{% for i in [1,2,3] %}{{ i }}{% filter upper %}a{% if i == 2 %}{% continue %}{% endif %}b{% endfilter %}|{% endfor %}", "{}"),
("err_break_in_macro", "{% for i in [1] %}{% macro m() %}{% break %}{% endmacro %}{% endfor %}", "{}"),
("macro_kwargs_caller_var", "{% macro m(a, b=2) %}{{ a }}{{ b }}{% endmacro %}{{ m(b=5, a=1) }}", "{}"),
]
import json, sys
from datetime import datetime
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import Extension
from jinja2 import nodes
class AssistantTracker(Extension):
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)
    def _render(self, caller): return caller()
def raise_exception(m): raise jinja2.exceptions.TemplateError(m)
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def strftime_now(f): return datetime(2026,11,26,12,0,0).strftime(f)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
env.filters['tojson']=tojson
env.globals['raise_exception']=raise_exception
env.globals['strftime_now']=strftime_now
out=[]
for name, tpl, ctx in C:
    try:
        r = env.from_string(tpl).render(**json.loads(ctx, object_pairs_hook=dict)); err=None
    except Exception as e:
        r=None; err=type(e).__name__+': '+str(e)
    out.append({'name':name,'template':tpl,'context':ctx,'output':r,'error':err})
json.dump(out, open(sys.argv[1],'w'), ensure_ascii=False, indent=1)
for o in out: print(o['name'], repr(o['output'])[:150] if o['error'] is None else 'ERR '+o['error'])
