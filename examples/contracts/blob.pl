# blob.pl OP KEYFILE NONCE ARGS...: a contracts-chain event blob on stdout
# (the formats of contracts.h). KEYFILE signs it; other keys are key files.
#   blob.pl D KEY NONCE LIB INDEX INIT       deploy library image LIB at INDEX
#   blob.pl C KEY NONCE OWNER INDEX GAS ARG  call OWNER's contract INDEX
#   blob.pl U KEY NONCE OWNER INDEX LIB      upgrade it to image LIB (governance)
#   blob.pl F KEY NONCE ACCOUNT AMOUNT       add AMOUNT gas credit (governance)
use strict;
sub public {
    open my $f, '<', $_[0] or die "$_[0]: $!\n";
    my ($p) = map { /^public ([0-9a-f]{64})$/ ? $1 : () } <$f>;
    defined $p or die "$_[0]: not a key file\n";
    return pack "H*", $p;
}
my ($op, $key, $nonce, @a) = @ARGV;
my $b = $op . public($key) . pack("Q<", $nonce);
if    ($op eq 'D') { $b .= pack "CCQ<", @a }
elsif ($op eq 'C') { $b .= public($a[0]) . pack "CQ<Q<", @a[1 .. 3] }
elsif ($op eq 'U') { $b .= public($a[0]) . pack "CC", @a[1 .. 2] }
elsif ($op eq 'F') { $b .= public($a[0]) . pack "Q<", $a[1] }
else { die "unknown op $op\n" }
binmode STDOUT;
print $b;
