#!/usr/bin/env python3
"""scripts/html_eval.py — measure html.c's boilerplate rule on generated pages of known content.

usage: html_eval.py TONGYUAN DEV_DIR [--pages N] [--work DIR] [--check]

Six made-up sites, each with its own layout, and N pages (articles) each — the bodies are
dev-set texts (DEV_DIR/src), so the article of every page is known:
  semantic   HTML5: header, nav, main/article, aside, footer
  cms        div soup with class names (header, nav, crumb, article-content, share, sidebar,
             footer) like most CMS themes, a copyright line in the footer
  table      an old table layout without any class name: a link column, a footer cell
  blog       #content .post .entry, a sidebar, and reader comments (prose, not the article)
  portal     pinyin class names (dh, wz, gg, bottom), an advert inside the article, related
             articles with one-sentence summaries (prose with a link in the title)
  minimal    <h1> and <p> only, a "back" link
Every page of a site shares its template: the navigation, sidebars and footer are the same
blocks on every page (comments and related summaries differ).

For each site it reports, for `tongyuan extract` on the files (each page alone) and on one
WARC of all pages (the reader remembers the blocks of each host: the repeated-block rule):
  recall     share of the article's characters found in the extracted text
  precision  share of the extracted characters that are the article's
  empty      pages that gave no text
and over all pages: the pairs of different articles that `tongyuan check` reports as reuse,
beyond those their article texts themselves share (the dev set's own overlaps) — the number
that must be 0 — and the same for the raw pages read as text, for scale.
--check exits 1 unless every site's recall and precision (files) are >= 0.95, no page is
empty and no pair is added. Generated pages stay in --work (a temporary directory otherwise).
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'lib'))
import mkformats as M  # noqa: E402

esc = M.esc


def links(words, base, sep=''):
    return sep.join('<a href="%s%d.html">%s</a>' % (base, i, w) for i, w in enumerate(words))


CATS = ['首页', '新闻', '教育', '科技', '财经', '体育', '文化', '旅游', '健康', '汽车']
HOT = ['全市中小学秋季开学工作平稳有序', '新能源汽车下乡活动启动', '今冬明春供暖准备工作全面展开',
       '省运会田径比赛圆满落幕', '乡村旅游成为假日消费新热点', '多地出台措施支持青年就业',
       '科技馆新展厅正式对外开放', '城市绿道二期工程完工']


def semantic(site, title, ps, i, rng):
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{esc(title)} | {site}</title>
<script>window.dataLayer=[];</script></head><body>
<header><a href="/" class="brand">{site}</a><nav>{links(CATS, '/c/', ' ')}</nav>
<form role="search"><input name="q" placeholder="搜索"></form></header>
<main><article><h1>{esc(title)}</h1><p><time>2024-10-{1 + i % 28:02d}</time></p>
{''.join('<p>%s</p>' % esc(p) for p in ps)}
</article>
<aside><h2>热门文章</h2><ul>{''.join('<li><a href="/h/%d">%s</a></li>' % (k, h) for k, h in enumerate(HOT))}</ul></aside></main>
<footer><p>{links(['关于我们', '联系方式', '隐私政策', '用户协议'], '/p/', ' · ')}</p>
<p>© 2024 {site} 保留所有权利</p></footer></body></html>"""


def cms(site, title, ps, i, rng):
    return M.site_page('\n'.join([title] + ps), i, '2024-11-%02d' % (1 + i % 28)).replace(
        '青石新闻网', site)


def table(site, title, ps, i, rng):
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{esc(title)}-{site}</title></head><body><table width="980"><tr><td colspan="2">
<img src="top.jpg"><br>{links(CATS, '/list', ' | ')}</td></tr><tr><td width="180" valign="top">
<b>最新更新</b><br>{links(HOT[:6], '/n', '<br>')}<br><b>友情链接</b><br>{links(['某某网', '某某论坛', '某某导航'], 'http://x', '<br>')}
</td><td valign="top"><font size="4"><b>{esc(title)}</b></font><br>作者：佚名　来源：本站原创　更新时间：2024-9-{1 + i % 28}<br><br>
{'<br><br>'.join(esc(p) for p in ps)}
<br><br>{links(['上一篇', '下一篇'], '/a', ' ')}</td></tr>
<tr><td colspan="2" align="center">{links(['设为首页', '加入收藏', '联系站长'], '/z', ' | ')}<br>
本站部分内容来自互联网，如有侵权请与站长联系删除。{site} 版权所有 2006-2024</td></tr></table></body></html>"""


COMMENTS = ['写得很好，学到了很多东西，感谢作者的分享，希望以后多发这样的文章。',
            '我按照文中的方法试了一下，确实解决了问题，不过第二步需要先重启一次。',
            '请问这个方法在旧版本上也能用吗？我这边试了好几次都没有成功。',
            '收藏了，等周末有空的时候再仔细研究一遍，顺便分享给同事们看看。',
            '文章条理清楚，例子也很实用，比官方文档好懂多了，支持一下。']


def blog(site, title, ps, i, rng):
    cm = ''.join('<li class="comment"><span class="author">网友%d</span><p>%s</p></li>'
                 % (rng.randint(100, 999), c) for c in rng.sample(COMMENTS, 3))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(title)} - {site}的博客</title></head>
<body><div id="header"><h1 class="site-title"><a href="/">{site}的博客</a></h1><p class="description">记录学习和生活的点滴</p></div>
<div id="menu">{links(['首页', '归档', '分类', '标签', '关于'], '/m', ' ')}</div>
<div id="content"><div class="post"><h2 class="post-title">{esc(title)}</h2>
<div class="meta">发表于 2024-08-{1 + i % 28} | 分类：学习笔记 | 阅读 {rng.randint(50, 900)}</div>
<div class="entry">{''.join('<p>%s</p>' % esc(p) for p in ps)}</div>
<div class="tags">标签：{links(['教程', '笔记', '软件'], '/t', ' ')}</div></div>
<div id="comments"><h3>3 条评论</h3><ol>{cm}</ol></div></div>
<div id="sidebar"><h3>最近文章</h3><ul>{''.join('<li><a href="/p%d">%s</a></li>' % (k, h) for k, h in enumerate(HOT[:5]))}</ul>
<h3>标签云</h3>{links(['教程', '笔记', '软件', '生活', '读书', '旅行', '摄影'], '/t', ' ')}</div>
<div id="footer">Powered by 某某博客程序 · 主题 Simple · © 2024 {site}</div></body></html>"""


SUMMARIES = ['本报讯 记者从有关部门获悉，今年以来全市新增就业岗位一万多个，就业形势总体稳定。',
             '近日，市文化馆举办了一场民俗展览，吸引了众多市民前来参观，现场气氛十分热烈。',
             '为进一步改善交通状况，市政部门将对主干道进行为期两个月的改造，请市民提前规划出行。',
             '秋收时节，各地农民抢抓晴好天气收割晚稻，田间地头一派繁忙景象，预计粮食产量稳中有升。',
             '市第一人民医院近日开通了夜间门诊，方便上班族在下班后就医，受到了市民的普遍欢迎。',
             '全市图书馆将延长开放时间，周末和节假日也将正常开放，市民可以通过网上预约入馆。']


def portal(site, title, ps, i, rng):
    body = ''.join('<p>%s</p>' % esc(p) for p in ps)
    if len(ps) > 2:  # an advert inside the article
        k = len(body) // 2
        k = body.index('<p>', k) if '<p>' in body[k:] else len(body)
        body = (body[:k] + '<div class="gg"><a href="http://ad.example/"><img src="ad.gif">'
                '限时特惠，点击了解详情</a></div>' + body[k:])
    rel = ''.join('<li><a href="/r/%d.html">%s</a><p>%s</p></li>' % (k, h, s)
                  for k, (h, s) in enumerate(zip(rng.sample(HOT, 3), rng.sample(SUMMARIES, 3))))
    return f"""<html><head><meta charset="utf-8"><title>{esc(title)}_{site}</title></head><body>
<div class="top"><div class="logo"><a href="/">{site}</a></div><div class="dh">{links(CATS, '/lm', '')}</div></div>
<div class="wz"><div class="bt">{esc(title)}</div><div class="sj">2024年9月{1 + i % 28}日 来源：{site}</div>
<div class="zw">{body}</div>
<div class="xg"><h4>相关阅读</h4><ul>{rel}</ul></div></div>
<div class="bottom"><p>{links(['网站简介', '广告服务', '联系我们', '法律声明'], '/b', ' | ')}</p>
<p>主办单位：某某市新闻中心　地址：某某市人民路1号　电话：0000-12345678</p>
<p>Copyright © 2024 {site} All Rights Reserved　某ICP备12345678号</p></div></body></html>"""


def minimal(site, title, ps, i, rng):
    return ('<html><head><meta charset="utf-8"><title>%s</title></head><body><h1>%s</h1>%s'
            '<p><a href="/">返回%s首页</a></p></body></html>'
            % (esc(title), esc(title), ''.join('<p>%s</p>' % esc(p) for p in ps), site))


LAYOUTS = [('semantic', semantic, '晨光资讯'), ('cms', cms, '青石新闻网'), ('table', table, '好文摘抄网'),
           ('blog', blog, '小林'), ('portal', portal, '某某在线'), ('minimal', minimal, '简单站')]


def nows(s):
    return re.sub(r'\s+', '', s)


def extract(ty, args):
    r = subprocess.run([ty, 'extract', '--format', 'jsonl'] + args, capture_output=True)
    docs = {}
    for line in r.stdout.splitlines():
        d = json.loads(line)
        docs[d['id']] = d['text']
    return docs


def score(truth, text):
    """recall, precision (in characters without white space) of one page"""
    t = nows('\n'.join(truth))
    lines = [nows(x) for x in text.split('\n') if x.strip()]
    got = sum(len(x) for x in lines)
    good = sum(len(x) for x in lines if x and x in t)
    ex = nows(text)
    found = sum(len(nows(p)) for p in truth if nows(p) in ex)
    return found / max(1, len(t)), good / got if got else 0.0


def reuse_pairs(ty, docs, work, name):
    """pairs (a, b), a != b, that check reports between the documents {id: text}"""
    path = os.path.join(work, name + '.jsonl')
    with open(path, 'w', encoding='utf-8') as f:
        for k, v in docs.items():
            f.write(json.dumps({'id': k, 'text': v}, ensure_ascii=False) + '\n')
    ix = os.path.join(work, name + '.idx')
    for p in (ix, ix + '-lock'):
        if os.path.exists(p):
            os.remove(p)
    subprocess.run([ty, 'index', 'build', '-o', ix, path], check=True, capture_output=True)
    r = subprocess.run([ty, 'check', '-x', ix, '--format', 'jsonl', path], capture_output=True)
    pairs = set()
    for line in r.stdout.splitlines():
        p = json.loads(line)
        if p['src'] != p['sus']:
            pairs.add(tuple(sorted((p['src'], p['sus']))))
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('ty')
    ap.add_argument('dev')
    ap.add_argument('--pages', type=int, default=20)
    ap.add_argument('--work')
    ap.add_argument('--check', action='store_true')
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix='ty_html_eval.')
    os.makedirs(work, exist_ok=True)
    rng = random.Random(7)
    srcs = sorted(f for f in os.listdir(os.path.join(a.dev, 'src')) if f.endswith('.txt'))
    truth, files, recs, site_of = {}, [], [], {}
    n = 0
    for lname, fn, site in LAYOUTS:
        d = os.path.join(work, lname)
        os.makedirs(d, exist_ok=True)
        host = '%s.example' % lname
        for i in range(a.pages):
            text = M.read(os.path.join(a.dev, 'src', srcs[(n * 7) % len(srcs)]))
            n += 1
            ps = M.paras(text)
            title, body = ps[0][:60], ps[1:] or ps
            html = fn(site, title, body, i, rng)
            path = os.path.join(d, 'p%03d.html' % i)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(html)
            uri = 'http://%s/p%03d.html' % (host, i)
            truth[path] = truth[uri] = [title] + body
            site_of[path] = site_of[uri] = lname
            files.append(path)
            recs.append(M.warc_record('response', uri, 'application/http; msgtype=response',
                                      M.http(html.encode('utf-8')), n))
    warc = os.path.join(work, 'all.warc.gz')
    with open(warc, 'wb') as f:
        f.write(M.warc_gz(recs))
    by_file = extract(a.ty, files)
    by_warc = extract(a.ty, [warc])
    print('html_eval: %d sites x %d pages (bodies: %s/src)' % (len(LAYOUTS), a.pages, a.dev))
    print('%-9s %-26s %-26s' % ('', 'each page alone (files)', 'site memory (one WARC)'))
    print('%-9s %8s %9s %6s  %8s %9s %6s' % ('site', 'recall', 'precision', 'empty',
                                              'recall', 'precision', 'empty'))
    ok = True
    tot = {k: [0, 0, 0, 0] for k in ('f', 'w')}
    for lname, _, _ in LAYOUTS:
        row = []
        for key, docs in (('f', by_file), ('w', by_warc)):
            ids = [k for k in truth if site_of[k] == lname and (k.startswith('http') == (key == 'w'))]
            rs, ps, empty = [], [], 0
            for k in ids:
                if k not in docs:
                    empty += 1
                    rs.append(0.0)
                    continue
                r, p = score(truth[k], docs[k])
                rs.append(r)
                ps.append(p)
            R = sum(rs) / len(rs)
            P = sum(ps) / len(ps) if ps else 0.0
            row += [R, P, empty]
            t = tot[key]
            t[0] += sum(rs)
            t[1] += sum(ps)
            t[2] += empty
            t[3] += len(ids)
            if key == 'f' and (R < 0.95 or P < 0.95 or empty):
                ok = False
        print('%-9s %8.3f %9.3f %6d  %8.3f %9.3f %6d' % tuple([lname] + row))
    f, w = tot['f'], tot['w']
    print('%-9s %8.3f %9.3f %6d  %8.3f %9.3f %6d' % (
        'all', f[0] / f[3], f[1] / max(1, f[3] - f[2]), f[2], w[0] / w[3],
        w[1] / max(1, w[3] - w[2]), w[2]))
    # reuse reported between different articles
    base = reuse_pairs(a.ty, {k: '\n'.join(v) for k, v in truth.items() if not k.startswith('http')},
                       work, 'truth')
    ext = reuse_pairs(a.ty, by_file, work, 'extracted')
    raw = reuse_pairs(a.ty, {p: open(p, encoding='utf-8').read() for p in files}, work, 'raw')
    added, added_raw = ext - base, raw - base
    print('pairs of different articles reported as reuse: %d between the article texts '
          'themselves; %d more after extraction; %d more when the pages are read as text'
          % (len(base), len(added), len(added_raw)))
    for p in sorted(added)[:10]:
        print('  added:', *p)
    if added:
        ok = False
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    if a.check and not ok:
        print('html_eval: FAILED (recall/precision < 0.95, empty pages or added pairs)')
        sys.exit(1)


if __name__ == '__main__':
    main()
