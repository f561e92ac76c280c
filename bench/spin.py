#!/usr/bin/env python3
"""spin.py — a small deterministic article spinner (伪原创) for the benchmarks.

usage: spin.py [--seed S] [--rate R] < source.txt > suspect.txt

It imitates what cheap spinning tools do to a Chinese article, in this order:
  1. substitution: the text is cut into 2-character tokens (a stand-in for words: no segmenter,
     on purpose, so the benchmark needs nothing but Python); about RATE of them (default: drawn
     per document in 0.20..0.30) are replaced — by a word from the small synonym-like list below
     when the token (or a 3-character key starting there) is in it, otherwise by swapping one of
     its characters (a third of the time both) for another common character;
  2. full-width punctuation turned half-width (，→,  。→.  ：→:  ！→!  ？→?  ；→;  （）→());
  3. 1-2 spam phrases inserted in the middle of sentences (between two Chinese characters);
  4. a title line (a spun opening clause plus a clickbait suffix) put on top;
  5. every paragraph re-indented with 　　, with blank lines between paragraphs half the time.
The output depends only on (text, seed): Random(seed) drives every choice, nothing else does.

The synonym list is tiny and hand-made (technical-help and everyday words, since the documents
come from help pages, manuals and poems); it is not the dev set's thesaurus and must not become
one — the point is a realistic amount of change, not a matching vocabulary.
Standard library only; gen.py imports spin() from here.
"""
import argparse
import random
import re
import sys

# Word -> replacement. Keys of 2 or 3 characters; replacements of any length.
SYN = dict(p.split('=') for p in '''
使用=利用 文件=文档 设置=设定 选择=挑选 显示=展示 命令=指令 可以=能够 如果=假如 需要=须要
程序=程式 用户=使用者 系统=体系 数据=资料 方法=办法 问题=难题 因为=由于 所以=因此 但是=不过
然后=接着 已经=业已 现在=目前 进行=开展 包含=包括 指定=指明 创建=建立 打开=开启 关闭=封闭
删除=移除 修改=更改 输入=键入 默认=缺省 参数=参量 格式=样式 单元格=储存格 窗口=视窗 信息=讯息
网络=网路 区域=范围 功能=性能 当前=目前 位置=方位 图标=图示 对象=物件 工具=器具 字符=字元
字段=栏位 函数=函式 变量=变数 支持=支撑 运行=运转 执行=履行 返回=回来 所有=全部 其他=其它
自动=主动 例如=比如 通过=经由 提供=供给 安装=装置 软件=软体 服务器=伺服器 计算机=电脑 页面=网页
表格=表单 列表=清单 设备=装备 重要=要紧 简单=简略 方便=便利 快速=迅速 容易=轻易 必须=务必
可能=或许 应该=应当 总是=老是 非常=十分 特别=尤其 开始=起头 结束=终了 完成=完结 得到=获得
发现=发觉 认为=以为 知道=晓得 帮助=协助 检查=查看 改变=转变 增加=添加 减少=削减 出现=呈现
保存=储存 复制=拷贝 移动=挪动 条件=前提 结果=成果 部分=局部 方式=方法 情况=状况 时间=时刻
原因=缘由 目的=目标 作用=效用 重新=从头 立即=立刻 经常=常常 一般=通常 我们=咱们 文本=文字
一个=一种 这个=此个 那个=该个 之后=以后 之前=以前 同时=一起 项目=工程
'''.split())

# Common characters used for character-level replacement (order fixed: determinism).
COMMON = ('的一是了不在有人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能'
          '下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加'
          '量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关'
          '各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立'
          '代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统'
          '接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治'
          '北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切'
          '打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况')

CJK = re.compile(r'[\u4e00-\u9fff]')
PUNCT = str.maketrans({'，': ',', '。': '.', '：': ':', '！': '!', '？': '?', '；': ';',
                       '（': '(', '）': ')'})
SPAM = ['南美注册,', '加微信领取资料,', '点击进入官网,', '本文来源于网络,', '更多精彩请关注公众号,',
        '限时免费下载,', '欢迎转发收藏,', '详情咨询客服,']
TITLE_SUFFIX = ['', '（完整版）', '_最新整理', '【干货】', '，一文看懂', '（收藏）']


def _cjk(c):
    return bool(CJK.match(c))


def substitute(par, rng, rate, stats):
    """Replace about `rate` of the 2-character tokens of one paragraph; count them in stats."""
    out, i, n = [], 0, len(par)
    while i < n:
        if i + 1 >= n or not (_cjk(par[i]) and _cjk(par[i + 1])):
            out.append(par[i])
            i += 1
            continue
        stats[0] += 1  # one 2-character token
        if rng.random() >= rate:
            out.append(par[i:i + 2])
            i += 2
            continue
        stats[1] += 1
        if par[i:i + 3] in SYN:
            out.append(SYN[par[i:i + 3]])
            i += 3
        elif par[i:i + 2] in SYN:
            out.append(SYN[par[i:i + 2]])
            i += 2
        elif par[i + 1:i + 3] in SYN:  # the word starts one character later
            out.append(par[i] + SYN[par[i + 1:i + 3]])
            i += 3
        else:
            a, b = par[i], par[i + 1]
            r = rng.random()
            if r < 1 / 3:
                a, b = rng.choice(COMMON), rng.choice(COMMON)
            elif r < 2 / 3:
                a = rng.choice(COMMON)
            else:
                b = rng.choice(COMMON)
            out.append(a + b)
            i += 2
    return ''.join(out)


def insert_spam(pars, rng, k):
    """Put k spam phrases between two Chinese characters, in random paragraphs."""
    for _ in range(k):
        spots = [(p, j) for p, t in enumerate(pars) for j in range(1, len(t))
                 if _cjk(t[j - 1]) and _cjk(t[j])]
        if not spots:
            return
        p, j = spots[rng.randrange(len(spots))]
        pars[p] = pars[p][:j] + rng.choice(SPAM) + pars[p][j:]


def spin(text, seed, rate=None):
    """Return (spun text, achieved token replacement rate)."""
    rng = random.Random(seed)
    if rate is None:
        rate = rng.uniform(0.20, 0.30)
    stats = [0, 0]
    pars = [p.strip() for p in text.split('\n') if p.strip()]
    pars = [substitute(p, rng, rate, stats).translate(PUNCT) for p in pars]
    insert_spam(pars, rng, rng.randint(1, 2))
    head = re.split(r'[,.:!?;\n]', pars[0], maxsplit=1)[0][:20] if pars else ''
    title = head + rng.choice(TITLE_SUFFIX)
    sep = '\n\n' if rng.random() < 0.5 else '\n'
    body = sep.join('　　' + p for p in pars)
    return title + '\n' + body + '\n', (stats[1] / stats[0] if stats[0] else 0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--rate', type=float)
    a = ap.parse_args()
    out, achieved = spin(sys.stdin.read(), a.seed, a.rate)
    sys.stdout.write(out)
    print('spin.py: replaced %.1f%% of 2-character tokens' % (100 * achieved), file=sys.stderr)


if __name__ == '__main__':
    main()
