#!/usr/bin/perl
# The sha512-crypt hash to give TARGET_USER (systems.configure.add_user). Reads, on stdin, the
# user's current hash (empty when there is none), a newline, then the requested password (all the
# rest, as it is). Prints the current hash when it already is this password, else a new hash of
# it with a fresh salt. crypt() here is the C library's crypt(3), the function login and su check
# passwords with, so any hash format that library knows is recognised.
# A file of its own rather than `perl -e`: the command module expands $NAME in its arguments from
# the environment, and Perl's $_ is the environment's $_.
use strict;
use warnings;

binmode STDIN;
binmode STDOUT;
my $input = do { local $/; <STDIN> } // '';
my ($current, $password) = split /\n/, $input, 2;
$current //= '';
$password //= '';

if ($current ne '') {
  my $check = crypt($password, $current);
  if (defined $check && $check eq $current) {
    print $current;
    exit 0;
  }
}

# 16 salt characters (the most sha512-crypt takes) from 16 random bytes: 256 is a multiple of 64,
# so every character is equally likely. 656000 rounds, passlib's default, as the hashes this role
# made before with Ansible's password_hash filter and passlib.
open(my $random, '<:raw', '/dev/urandom') or die "cannot read /dev/urandom: $!\n";
(read($random, my $bytes, 16) // 0) == 16 or die "short read from /dev/urandom\n";
close $random;
my @alphabet = ('.', '/', 0 .. 9, 'A' .. 'Z', 'a' .. 'z');
my $salt = join '', map { $alphabet[ord($_) % 64] } split //, $bytes;
my $hash = crypt($password, '$6$rounds=656000$' . $salt . '$');
defined $hash && $hash =~ /^\$6\$rounds=656000\$/ or die "this C library cannot make sha512-crypt hashes\n";
print $hash;
