#!/usr/bin/env python3
"""Where a wasm module's code is, by crate: reads the function names of Trunk's unoptimised
build (dist/*_bg.wasm keeps its name section; wasm-opt strips it) and sums each function body's
size under the first path segment of its name. A generic instantiated for our types counts
under the crate that defines it.

    python3 bench/wasm_size.py [dist/medclassify-*_bg.wasm]
"""
import glob,re,collections,sys
d=open(sys.argv[1] if len(sys.argv)>1 else glob.glob('dist/*_bg.wasm')[0],'rb').read()
def leb(d,i):
  r=0;s=0
  while True:
    b=d[i];i+=1;r|=(b&0x7f)<<s;s+=7
    if b<0x80: return r,i
i=8;secs={}
nimports=0
while i<len(d):
  sid=d[i];i+=1;sz,i=leb(d,i)
  if sid==0:
    nl,j=leb(d,i);nm=d[j:j+nl].decode()
    if nm=='name': secs['name']=(j+nl,i+sz)
  else: secs[sid]=(i,i+sz)
  i+=sz
# imports count functions
s,e=secs[2];n,i=leb(d,s)
for _ in range(n):
  l,i=leb(d,i);i+=l
  l,i=leb(d,i);i+=l
  k=d[i];i+=1
  if k==0: _,i=leb(d,i);nimports+=1
  elif k==1: i+=1; f,i=leb(d,i); _,i=leb(d,i); 
  elif k==2: f,i=leb(d,i); _,i=leb(d,i); 
  elif k==3: i+=2
s,e=secs[10];n,i=leb(d,s);sizes=[]
for _ in range(n):
  sz,i=leb(d,i);sizes.append(sz);i+=sz
names={}
s,e=secs['name'];i=s
while i<e:
  sub=d[i];i+=1;sz,i=leb(d,i)
  if sub==1:
    j=i;n,j=leb(d,j)
    for _ in range(n):
      idx,j=leb(d,j);l,j=leb(d,j);names[idx]=d[j:j+l].decode('utf8','replace');j+=l
  i+=sz
agg=collections.Counter();cnt=collections.Counter()
for k,sz in enumerate(sizes):
  nm=names.get(k+nimports,'?')
  m=re.findall(r'([a-z_][a-z0-9_]*)::',nm)
  # crate = first path segment, but for generic impls use first token
  crate=m[0] if m else nm[:20]
  nm2=nm.lstrip('<')
  mm=re.match(r'([A-Za-z_][A-Za-z0-9_]*)::',nm2)
  crate=mm.group(1) if mm else crate
  agg[crate]+=sz;cnt[crate]+=1
tot=sum(sizes)
print('code section', tot, 'bytes in', len(sizes), 'functions')
for c,v in agg.most_common(40): print(f'{v/1e6:7.2f} MB {100*v/tot:5.1f}% {cnt[c]:6d} {c}')
print('--- top functions')
items=sorted(((sz,names.get(k+nimports,'?')) for k,sz in enumerate(sizes)),reverse=True)
for sz,nm in items[:25]: print(f'{sz/1e3:8.1f} KB {nm[:160]}')
