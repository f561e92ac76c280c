#!/usr/bin/env python3
"""tests/lib/mkformats.py — the documents of tests/formats.sh, made here, never downloaded.

usage: python3 tests/lib/mkformats.py OUT_DIR DEV_DIR

Writes, deterministically (fixed seeds):
  OUT/orig/   one original per format:
      news.gb18030.txt   a news article in GB18030
      trad.big5.txt      a Traditional Chinese article in Big5
      utf16.txt          tests/data/text/src-00255.txt in UTF-16LE with a byte order mark
      site-a.html        two different articles of one made-up news site (青石新闻网), with
      site-b.html          the same header, navigation, related links and footer
      manual.docx        a Word file (zipfile + hand-written XML): paragraphs, a table, a footnote
      guide.odt          an OpenDocument text: paragraphs, a list, a note
      paper.pdf          a two-page PDF in STSong-Light (reportlab's built-in CID font)
      crawl.warc.gz      100 HTML pages of a made-up help site (bodies: DEV/src-00001..100), one
                         gzip member per record, with warcinfo/request records, an image, a 404,
                         pages in GBK named only by the HTTP header, chunked and gzip bodies
  OUT/spun/   a spun copy (bench/spin.py) of each, in the same format, named NAME.spun.EXT
              (*.txt in the same charset), but copy-site.html (site-a's article on the copier's
              own table layout, GB18030 under <meta charset=gb2312>) and spun.warc.gz (5 of the
              100 pages, on another host)
  OUT/corrupt/  truncated.docx, not-a-zip.docx, bad-xml.docx, old.doc, encrypted.pdf,
              scanned.pdf (no text), nav-only.html (no text), lying.html (<meta charset=utf-8>
              over GB18030 bytes), broken.warc (a record without its WARC/ line, one with a lying
              Content-Length, good ones around them)
  OUT/truth.tsv  spun copy name <TAB> original name (as index/check/dedup name them)

The articles are written for this project. reportlab comes from Debian's python3-reportlab
(system Python); when the running Python does not see it, the system's dist-packages are added.
"""
import gzip
import io
import os
import random
import sys
import zipfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
from spin import spin  # noqa: E402

# ---- articles --------------------------------------------------------------------------------

NEWS_A = """青石镇启动老旧小区改造工程

本报讯 记者从青石镇人民政府获悉，今年全镇将对建成于上世纪九十年代的十二个老旧小区进行集中改造，涉及居民两千三百多户，预计年底前全部完工。

据镇建设办负责人介绍，这次改造以“补短板、强弱项”为重点，主要包括更换老化的供水管道、铺设燃气管网、加装楼道照明和修缮屋顶防水层。部分条件允许的小区还将加装电梯，并增设电动自行车集中充电车棚，解决居民“飞线充电”的安全隐患。

为了让改造方案更贴近群众需求，镇里在开工前组织了二十多场居民议事会，逐户征求意见。家住红旗小区的退休教师张桂芳说：“以前一下雨楼道里就漏水，老人上下楼很不方便。这次改造把我们提的意见都写进了方案，大家心里都踏实了。”

改造期间，施工单位将实行分段作业，每天晚上七点后停止噪声较大的工序，并在小区门口公示工程进度和监督电话。镇纪委也将全程跟踪资金使用情况，确保每一笔钱都花在居民最需要的地方。

据了解，改造资金由中央补助、地方配套和居民自筹三部分组成，其中居民自筹部分主要用于加装电梯。对于家庭困难的住户，镇里将通过社会救助资金给予适当减免。各小区还将成立由居民代表、物业公司和社区工作人员组成的监督小组，每周召开一次碰头会，及时协调解决施工中遇到的问题。

在已经完成改造的试点小区建设新村，记者看到，斑驳的外墙已经粉刷一新，楼道里安装了声控灯，小区中央的空地变成了健身广场和儿童游乐区。七十三岁的居民王大爷正在新修的凉亭里下棋，他说：“住了三十年的老房子，没想到还能住得这么舒心。”

镇长刘国强表示，老旧小区改造既是民生工程，也是发展工程。下一步，青石镇还将结合改造推进社区养老、托育和便民服务设施建设，让老小区焕发新活力。
"""

TRAD_B = """山城舊書店的第四十個年頭

在山城老街的轉角，有一家不到三十坪的舊書店，今年已經開了整整四十年。店主林文雄每天清晨六點開門，先把門口的木頭書架擦乾淨，再把前一天收來的舊書一本本整理上架。

林文雄說，剛開店的時候，街上還有五六家書店，學生放學後總是擠在店裡看書。後來網路書店興起，附近的同行一家接一家關門，只有他堅持了下來。他笑著說：「不是我特別會做生意，而是捨不得這些書，也捨不得老顧客。」

這幾年，書店意外地吸引了不少年輕人。有人專程從外地來找絕版的詩集，也有人在店裡一坐就是一個下午。林文雄的女兒林佳慧辭去都市的工作回到家鄉，替書店開設了讀書會和手作課程，還把店裡的藏書整理成目錄放上網路。

店裡最珍貴的收藏，是一套民國初年出版的地方誌。林文雄說，這套書是二十多年前一位老教授臨終前託付給他的，多年來不少收藏家出高價想買，他都一一婉拒。他認為，這些書屬於整座城市的記憶，應該留給願意研究它的人閱讀，而不是鎖在某個人的書櫃裡。

為了讓更多人認識老街的歷史，林佳慧今年還和附近的咖啡館、茶行合作，規劃了一條文化散步路線。參加的民眾在書店集合，聽林文雄講述老街的故事，再沿著石板路走訪幾座百年老屋。活動推出以來，每一場都很快額滿。

每逢週末，店門口的長椅上總坐滿了人。有退休的老師帶著孫子來挑童書，也有大學生在這裡準備考試。林文雄說，只要還有人願意走進來翻一翻書，這家店就會一直開下去。
"""

SITE_D = """青石岭小学新建图书馆正式开放

本报讯 十一月的清晨，寒意已经很浓，但青石岭小学的孩子们还是早早来到了学校。今天，他们盼望了整整一年的图书馆终于正式开放，四千多册新书整整齐齐地摆在书架上。

这座图书馆由一间旧仓库改造而成，面积不到八十平方米。书架是村里的木匠带着几位村民亲手打的，桌椅则来自县城一所中学的捐赠。校长王秀兰说，过去学生想看课外书，只能等每学期一次的流动书车，现在每天放学后都可以在这里读上一个小时。

五年级学生刘小红是图书馆的第一位小管理员。她说：“以前想看新书要等很久，现在课间就能来借书了，我最想看的是科普书和历史故事。”为了管好图书馆，学校还请县图书馆的工作人员来培训了十名学生志愿者。

图书馆开放后，学校把每周三下午定为“阅读时光”，各年级轮流到馆里上阅读课。语文老师李春梅说，孩子们读书的热情比她想象的还要高，不少学生主动写起了读书笔记，还有人把在书里学到的种植知识用在了学校的小菜园里。

村里的老人们也常常在傍晚来到图书馆门口，听孩子们讲书里的故事。村支书赵永福说，村里正在商量把图书馆周末也开放给村民，让大人们也能在这里看看农业技术和养殖方面的书。

县教育局相关负责人表示，今年全县将在二十所乡村小学建设标准化图书室，并建立城乡学校之间的图书流转机制，让山区的孩子也能读到更多好书。
"""

SITE_E = """青石镇举办首届农民丰收节

本报讯 金秋时节，青石镇首届农民丰收节在镇文化广场开幕。来自全镇十八个村的农户带来了大米、板栗、蜂蜜和手工竹编等一百多种农产品，吸引了上万名游客前来选购。

活动现场设置了农产品展销区、农耕文化体验区和直播带货区。在直播区，几位返乡青年架起手机，向网友介绍家乡的高山茶叶和土鸡蛋，一个上午就卖出了三千多单。种植大户陈建华说，往年板栗收获后最发愁的是销路，这次丰收节让他的板栗提前卖完了一半。

丰收节期间还举行了插秧比赛、农具展示和乡村歌手大赛等活动。八十二岁的老农赵德明在农耕文化展区演示了传统的木犁耕地，引来不少孩子围观。他感慨地说，现在种地有了机器，年轻人更要知道粮食来之不易。

为了方便游客，镇里开通了从县城到文化广场的免费接驳车，并在周边村庄设立了五个停车场。不少游客逛完展销区后，又跟着导览员去附近的果园采摘柿子和猕猴桃。来自省城的游客孙丽说，她带着孩子专程赶来，就是想让孩子看看粮食是怎么从田里长出来的。

据统计，丰收节三天共接待游客四万多人次，农产品现场销售额和线上订单合计超过六百万元。不少外地采购商还与当地合作社签订了长期供货协议。

镇党委书记周海燕表示，举办丰收节既是为了庆祝丰收，也是为了打响本地农产品的品牌。今后镇里将继续发展特色种植和乡村旅游，带动更多农民增收致富。
"""

# ---- helpers -----------------------------------------------------------------------------------


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode('utf-8'))


def esc(s):
    return s.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')


def paras(text):
    return [p.strip() for p in text.split('\n') if p.strip()]


# Traditional characters that stand in for spun characters Big5 cannot hold (fixed order)
TRAD_COMMON = ('的一是了不在有人這中大為上個國我以要他時來用們生到作地於出就分對成會可主發年動同工也能'
               '下過子說產種面而方後多定行學法所民得經十三之進著等部度家電力裡如水化高自二理起小物現實加')


def big5_safe(text, rng):
    out = []
    for c in text:
        try:
            c.encode('big5')
            out.append(c)
        except UnicodeEncodeError:
            out.append(rng.choice(TRAD_COMMON))
    return ''.join(out)


# ---- HTML ------------------------------------------------------------------------------------

NAV = ['首页', '国内', '国际', '财经', '科技', '体育', '娱乐', '教育', '健康', '图片', '视频', '评论']
RELATED = ['县教育局召开秋季工作会议', '青石镇举办读书节活动', '乡村教师培训班开班',
           '全县秋粮收购工作有序开展', '山区公路改造工程通过验收', '青石河生态治理取得新进展']


def site_page(text, num, date):
    """A page of 青石新闻网: semantic-ish div soup with class names, like most CMS themes."""
    ps = paras(text)
    title, body = ps[0], ps[1:]
    nav = ''.join('<li><a href="/%d/">%s</a></li>' % (i, n) for i, n in enumerate(NAV))
    rel = ''.join('<li><a href="/a/%d.html">%s</a></li>' % (900 + i, r)
                  for i, r in enumerate(RELATED))
    content = '\n'.join('<p>%s</p>' % esc(p) for p in body)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{esc(title)}_青石新闻网</title>
<meta name="keywords" content="青石,新闻,{esc(title)}">
<link rel="stylesheet" href="/static/site.css">
<style>.nav li{{float:left}} .footer{{color:#999}}</style>
<script>var _hmt = _hmt || []; (function(){{ var hm = document.createElement("script"); }})();</script>
</head>
<body>
<div class="top-bar"><span>欢迎访问青石新闻网</span> <a href="/login">登录</a> <a href="/reg">注册</a></div>
<div class="header">
  <a class="logo" href="/"><img src="/static/logo.png" alt="青石新闻网"></a>
  <div class="search"><form action="/s"><input name="q"><button>搜索</button></form></div>
</div>
<ul class="nav">{nav}</ul>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/1/">国内</a> &gt; 正文</div>
<div class="wrap">
 <div class="article">
  <h1>{esc(title)}</h1>
  <div class="info">来源：青石日报　时间：{date}　编辑：李明　浏览：{1000 + num * 37}</div>
  <div class="article-content">
{content}
  </div>
  <div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>
  <div class="pages"><a href="/a/{num - 1}.html">上一篇</a> <a href="/a/{num + 1}.html">下一篇</a></div>
 </div>
 <div class="sidebar">
  <h3>相关新闻</h3><ul>{rel}</ul>
  <h3>热门排行</h3><ol>{rel}</ol>
 </div>
</div>
<div class="footer">
 <p><a href="/about">关于我们</a> | <a href="/contact">联系我们</a> | <a href="/ad">广告服务</a> | <a href="/jobs">招聘信息</a> | <a href="/map">网站地图</a></p>
 <p>青石新闻网版权所有，未经书面授权禁止转载、摘编或建立镜像，违者将依法追究法律责任。本站部分图片来源于网络，如有侵权请联系删除。</p>
 <p>Copyright © 2024 qingshi.example All Rights Reserved　京ICP备12345678号　京公网安备11010502030000号</p>
</div>
</body>
</html>
"""


def copier_page(text):
    """The copier's site: an old table layout without any class names, GBK with <meta>."""
    ps = paras(text)
    title, body = ps[0], ps[1:]
    links = ' | '.join('<a href="/list%d.asp">%s</a>' % (i, n)
                       for i, n in enumerate(['网站首页', '新闻中心', '资料下载', '留言板', '会员中心']))
    content = '<br>\n'.join(esc(p) for p in body)
    return f"""<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{esc(title)} - 好文摘抄网</title>
</head>
<body bgcolor="#ffffff">
<table width="960" align="center" border="0">
<tr><td colspan="2"><img src="banner.gif"><br>{links}</td></tr>
<tr>
<td width="200" valign="top">
<b>栏目导航</b><br><a href="/c1.asp">社会新闻</a><br><a href="/c2.asp">教育新闻</a><br><a href="/c3.asp">三农新闻</a><br><a href="/c4.asp">美文欣赏</a><br>
<b>友情链接</b><br><a href="http://a.example">某某网</a><br><a href="http://b.example">某某论坛</a>
</td>
<td valign="top">
<font size="5"><b>{esc(title)}</b></font><br>
发布时间：2024-11-05　点击数：{random.Random(len(text)).randint(100, 999)}<br><br>
{content}
</td>
</tr>
<tr><td colspan="2" align="center"><a href="/">首页</a> | <a href="/about.asp">关于本站</a><br>
本站文章均来自网络，仅供学习交流，版权归原作者所有。Copyright 2008-2024 好文摘抄网</td></tr>
</table>
</body>
</html>
"""


def help_page(text, num):
    """A page of a made-up help site (the WARC pages): HTML5 with nav/aside/footer."""
    ps = paras(text)
    title, body = ps[0][:60], ps[1:] if len(ps) > 1 else ps
    side = ''.join('<li><a href="/doc/%d">文档 %d</a></li>' % (i, i) for i in range(10))
    content = '\n'.join('<p>%s</p>' % esc(p) for p in body)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{esc(title)} - 帮助中心</title></head>
<body>
<header><a href="/">帮助中心</a><nav><a href="/start">入门</a> <a href="/faq">常见问题</a> <a href="/api">接口文档</a> <a href="/forum">论坛</a></nav></header>
<div id="layout"><aside><ul>{side}</ul></aside>
<main><article><h1>{esc(title)}</h1>
{content}
</article></main></div>
<footer><p>本帮助文档以知识共享署名协议发布。最后更新：2024年10月。<a href="/feedback">反馈问题</a></p></footer>
</body></html>
"""


def nav_only_page():
    nav = ''.join('<li><a href="/%d/">%s</a></li>' % (i, n) for i, n in enumerate(NAV))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>青石新闻网</title></head>
<body><ul class="nav">{nav}</ul><div class="footer"><a href="/about">关于我们</a></div></body></html>
"""


# ---- DOCX / ODT ------------------------------------------------------------------------------

W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main'


def docx(text, title, table=None, footnote=None):
    ps = paras(text)

    def p(t):
        return ('<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:lang w:eastAsia="zh-CN"/>'
                '</w:rPr><w:t xml:space="preserve">%s</w:t></w:r></w:p>' % esc(t))
    body = [p(ps[0])]
    for i, t in enumerate(ps[1:]):
        # split a paragraph into two runs, with a deleted run between (tracked change)
        h = len(t) // 2
        body.append('<w:p><w:r><w:t>%s</w:t></w:r><w:del w:id="%d" w:author="x"><w:r><w:delText>'
                    '已删除的文字</w:delText></w:r></w:del><w:r><w:t>%s</w:t></w:r>%s</w:p>'
                    % (esc(t[:h]), i + 10, esc(t[h:]),
                       '<w:r><w:footnoteReference w:id="1"/></w:r>' if footnote and i == 0 else ''))
    if table:  # at the end: the same place in an original and its spun copy
        rows = ''.join('<w:tr>%s</w:tr>' % ''.join(
            '<w:tc><w:tcPr><w:tcW w:w="2000" w:type="dxa"/></w:tcPr>%s</w:tc>' % p(c) for c in r)
            for r in table)
        body.append('<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr>%s</w:tbl>' % rows)
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<w:document xmlns:w="%s" xmlns:r="http://schemas.openxmlformats.org/'
                'officeDocument/2006/relationships"><w:body>%s<w:sectPr/></w:body></w:document>'
                % (W, ''.join(body)))
    files = {
        '[Content_Types].xml':
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/>'
            '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.footnotes+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-'
            'package.core-properties+xml"/></Types>',
        '_rels/.rels':
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            'relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>',
        'word/_rels/document.xml.rels':
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/footnotes" Target="footnotes.xml"/></Relationships>',
        'word/document.xml': document,
        'docProps/core.xml':
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
            'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>%s</dc:title>'
            '<dc:creator>tongyuan tests</dc:creator></cp:coreProperties>' % esc(title),
    }
    notes = ('<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
             '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
             '</w:r></w:p></w:footnote>')
    if footnote:
        notes += '<w:footnote w:id="1"><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:footnote>' % esc(footnote)
    files['word/footnotes.xml'] = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                   '<w:footnotes xmlns:w="%s">%s</w:footnotes>' % (W, notes))
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            zi = zipfile.ZipInfo(name, date_time=(2024, 11, 2, 9, 30, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return b.getvalue()


def odt(text, title, note=None):
    ps = paras(text)
    T = 'urn:oasis:names:tc:opendocument:xmlns:text:1.0'
    body = ['<text:h text:outline-level="1">%s</text:h>' % esc(ps[0])]
    for i, t in enumerate(ps[1:]):
        n = ''
        if note and i == 0:
            n = ('<text:note text:id="n1" text:note-class="footnote"><text:note-citation>1'
                 '</text:note-citation><text:note-body><text:p>%s</text:p></text:note-body></text:note>'
                 % esc(note))
        body.append('<text:p text:style-name="P1">%s<text:s/>%s</text:p>' % (esc(t), n))
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office="'
               'urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="%s" office:version="1.2">'
               '<office:body><office:text>%s</office:text></office:body></office:document-content>'
               % (T, ''.join(body)))
    meta = ('<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta xmlns:office="'
            'urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:dc="http://purl.org/dc/'
            'elements/1.1/" office:version="1.2"><office:meta><dc:title>%s</dc:title></office:meta>'
            '</office:document-meta>' % esc(title))
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest="'
                'urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/'
                'vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml"'
                ' manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="meta.xml"'
                ' manifest:media-type="text/xml"/></manifest:manifest>')
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w') as z:
        zi = zipfile.ZipInfo('mimetype', date_time=(2024, 11, 2, 9, 30, 0))
        zi.compress_type = zipfile.ZIP_STORED  # first and stored: the ODF magic
        z.writestr(zi, 'application/vnd.oasis.opendocument.text')
        for name, data in (('META-INF/manifest.xml', manifest), ('content.xml', content),
                           ('meta.xml', meta)):
            zi = zipfile.ZipInfo(name, date_time=(2024, 11, 2, 9, 30, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return b.getvalue()


# ---- PDF -------------------------------------------------------------------------------------

def reportlab():
    try:
        import reportlab  # noqa: F401
    except ImportError:
        # Debian's python3-reportlab lives in the system Python's dist-packages
        sys.path.append('/usr/lib/python3/dist-packages')
    from reportlab.pdfgen import canvas
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    try:
        pdfmetrics.getFont('STSong-Light')
    except KeyError:
        pdfmetrics.registerFont(UnicodeCIDFont('STSong-Light'))
    return canvas


def pdf(text, title, per_page=None, encrypt=None, blank=False):
    canvas = reportlab()
    b = io.BytesIO()
    c = canvas.Canvas(b, pagesize=(595, 842), encrypt=encrypt, invariant=1)
    c.setTitle(title)
    if blank:
        c.rect(100, 400, 300, 200, fill=1)  # a "scan": a picture, no text
        c.showPage()
        c.save()
        return b.getvalue()
    lines = []
    for p in paras(text):
        while p:
            lines.append(p[:32])
            p = p[32:]
        lines.append('')
    per_page = per_page or (len(lines) + 1) // 2  # two pages
    for start in range(0, len(lines), per_page):
        c.setFont('STSong-Light', 14)
        y = 800
        for ln in lines[start:start + per_page]:
            c.drawString(50, y, ln)
            y -= 22
        c.showPage()
    c.save()
    return b.getvalue()


# ---- WARC ------------------------------------------------------------------------------------

def warc_record(rtype, uri, ctype, block, num):
    head = ['WARC/1.0', 'WARC-Type: ' + rtype,
            'WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-%012d>' % num,
            'WARC-Date: 2024-11-02T09:%02d:%02dZ' % (num // 60 % 60, num % 60)]
    if uri:
        head.append('WARC-Target-URI: ' + uri)
    head += ['Content-Type: ' + ctype, 'Content-Length: %d' % len(block)]
    return ('\r\n'.join(head) + '\r\n\r\n').encode() + block + b'\r\n\r\n'


def http(body, ctype='text/html; charset=utf-8', status='200 OK', extra=()):
    h = ['HTTP/1.1 ' + status, 'Server: nginx', 'Content-Type: ' + ctype] + list(extra)
    if not any(x.startswith('Transfer-Encoding') for x in extra):
        h.append('Content-Length: %d' % len(body))
    return ('\r\n'.join(h) + '\r\n\r\n').encode() + body


def chunked(b):
    out = b''
    for i in range(0, len(b), 700):
        part = b[i:i + 700]
        out += b'%x\r\n' % len(part) + part + b'\r\n'
    return out + b'0\r\n\r\n'


def warc_gz(records):
    """One gzip member per record, as crawlers write them."""
    return b''.join(gzip.compress(r, mtime=0) for r in records)


def crawl(pages, host, spun_idx=None):
    recs = [warc_record('warcinfo', None, 'application/warc-fields',
                        b'software: tests/lib/mkformats.py\r\nformat: WARC File Format 1.0\r\n', 0)]
    n = 1
    for i, (text, page) in enumerate(pages):
        uri = 'http://%s/doc/%03d.html' % (host, i + 1)
        recs.append(warc_record('request', uri, 'application/http; msgtype=request',
                                ('GET /doc/%03d.html HTTP/1.1\r\nHost: %s\r\n\r\n' % (i + 1, host))
                                .encode(), n))
        n += 1
        html = page.encode('utf-8')
        if i % 10 == 3:  # GBK, named only by the HTTP header (no <meta> charset)
            html = page.replace('<meta charset="utf-8">', '').encode('gb18030')
            body = http(html, 'text/html; charset=gbk')
        elif i % 10 == 5:
            body = http(chunked(html), extra=('Transfer-Encoding: chunked',))
        elif i % 10 == 7:
            body = http(gzip.compress(html, mtime=0), extra=('Content-Encoding: gzip',))
        else:
            body = http(html)
        recs.append(warc_record('response', uri, 'application/http; msgtype=response', body, n))
        n += 1
        if i % 25 == 0:  # not documents: an image, a 404, a redirect, metadata
            recs.append(warc_record('response', 'http://%s/img/%d.png' % (host, i),
                                    'application/http; msgtype=response',
                                    http(b'\x89PNG\r\n\x1a\n' + bytes(range(200)), 'image/png'), n))
            recs.append(warc_record('response', 'http://%s/missing%d' % (host, i),
                                    'application/http; msgtype=response',
                                    http(b'<html><body><h1>404 Not Found</h1></body></html>',
                                         status='404 Not Found'), n + 1))
            recs.append(warc_record('metadata', uri, 'application/warc-fields',
                                    b'outlink: http://example.org/\r\n', n + 2))
            n += 3
    return warc_gz(recs)


# ---- main --------------------------------------------------------------------------------------

def main():
    out, dev = sys.argv[1], sys.argv[2]
    O, S, C = (os.path.join(out, d) for d in ('orig', 'spun', 'corrupt'))
    truth = []

    def pair(name_o, data_o, data_s):
        # the spun copy: NAME.spun.EXT, so that names differ across orig/ and spun/
        base, ext = name_o.split('.', 1)
        name_s = base + '.spun.' + ext
        write(os.path.join(O, name_o), data_o)
        write(os.path.join(S, name_s), data_s)
        truth.append((name_s, name_o))

    # plain text in three charsets
    pair('news.gb18030.txt', NEWS_A.encode('gb18030'), spin(NEWS_A, 11)[0].encode('gb18030'))
    rng = random.Random(5)
    pair('trad.big5.txt', TRAD_B.encode('big5'), big5_safe(spin(TRAD_B, 12)[0], rng).encode('big5'))
    orig = read(os.path.join(ROOT, 'tests', 'data', 'text', 'src-00255.txt'))
    pair('utf16.txt', orig.encode('utf-16'), spin(orig, 13)[0].encode('utf-16'))
    # HTML: two articles of one site; the spun copy of the first on the copier's site, in GBK
    write(os.path.join(O, 'site-a.html'), site_page(SITE_D, 101, '2024-11-02 09:30'))
    write(os.path.join(O, 'site-b.html'), site_page(SITE_E, 102, '2024-11-03 10:15'))
    write(os.path.join(S, 'copy-site.html'), copier_page(spin(SITE_D, 14)[0]).encode('gb18030'))
    truth.append(('copy-site.html', 'site-a.html'))
    # Word and OpenDocument
    F = read(os.path.join(ROOT, 'tests', 'data', 'text', 'src-00596.txt'))
    G = read(os.path.join(ROOT, 'tests', 'data', 'text', 'src-00387.txt'))
    table = [['项目', '数量', '说明'], ['段落间距', '12 磅', '表格单元格底部'], ['行距', '1.5 倍', '成比例']]
    note = '本文根据软件帮助文档整理，仅供测试使用。'
    pair('manual.docx', docx(F, '排版选项说明', table, note),
         docx(spin(F, 15)[0], '排版选项说明（整理版）', table, note))
    pair('guide.odt', odt(G, '使用指南', note), odt(spin(G, 16)[0], '使用指南', note))
    # PDF, two pages
    H = read(os.path.join(ROOT, 'tests', 'data', 'text', 'hay-00207.txt'))
    pair('paper.pdf', pdf(H, '技术说明'), pdf(spin(H, 17)[0], '技术说明'))
    # WARC: 100 pages of a help site; 5 of them spun, on another host
    texts = [read(os.path.join(dev, 'src', 'src-%05d.txt' % i)) for i in range(1, 101)]
    pages = [(t, help_page(t, i)) for i, t in enumerate(texts)]
    write(os.path.join(O, 'crawl.warc.gz'), crawl(pages, 'help.example.org'))
    chosen = [2, 16, 41, 65, 98]
    spun_pages = []
    for k, i in enumerate(chosen):
        t = spin(texts[i], 100 + i)[0]
        spun_pages.append((t, help_page(t, i)))
    write(os.path.join(S, 'spun.warc.gz'), crawl(spun_pages, 'copy.example.net'))
    for k, i in enumerate(chosen):
        truth.append(('http://copy.example.net/doc/%03d.html' % (k + 1),
                      'http://help.example.org/doc/%03d.html' % (i + 1)))
    # corrupt and empty inputs
    d = docx(F, 'x')
    write(os.path.join(C, 'truncated.docx'), d[:len(d) * 6 // 10])
    write(os.path.join(C, 'not-a-zip.docx'), '这不是一个压缩文件，只是改了扩展名的文本。\n')
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w') as z:
        z.writestr('[Content_Types].xml', '<Types/>')
        z.writestr('word/document.xml', '<?xml version="1.0"?>\n<w:document xmlns:w="%s">\n'
                   '<w:body><w:p><w:t>未闭合的标签</w:p></w:body>' % W)
    write(os.path.join(C, 'bad-xml.docx'), b.getvalue())
    write(os.path.join(C, 'old.doc'), b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + bytes(504))
    write(os.path.join(C, 'encrypted.pdf'), pdf(H, '加密', encrypt='secret'))
    write(os.path.join(C, 'scanned.pdf'), pdf('', '扫描件', blank=True))
    write(os.path.join(C, 'nav-only.html'), nav_only_page())
    write(os.path.join(C, 'lying.html'),
          site_page(SITE_E, 7, '2024-11-03').encode('gb18030'))  # says utf-8, is GB18030
    good = [warc_record('response', 'http://w.example/%d' % i, 'application/http; msgtype=response',
                        http(help_page(texts[i], i).encode()), i) for i in range(4)]
    broken = good[1].replace(b'WARC/1.0', b'WARX/1.0', 1)
    lying = good[2].replace(b'Content-Length: %d' % (len(good[2].split(b'\r\n\r\n', 1)[1]) - 4),
                            b'Content-Length: 50', 1)
    write(os.path.join(C, 'broken.warc'), good[0] + broken + lying + good[3])
    with open(os.path.join(out, 'truth.tsv'), 'w', encoding='utf-8') as f:
        for s, o in truth:
            f.write('%s\t%s\n' % (s, o))


if __name__ == '__main__':
    main()
