%% Shared by the OTP reference scripts: print observable outcomes as Python literals.
%%
%% Each script prints lines "key = literal", where the literal is what Python's
%% ast.literal_eval reads: atoms become strings, tuples tuples, lists lists, binaries
%% strings, maps dicts; pids and references become the strings 'pid' and 'ref' (their
%% numbers differ between runtimes). The sandbox side normalizes its values the same way.

out(Key, Term) -> io:format("~s = ~s~n", [Key, show(Term)]).

show(true) -> "True";
show(false) -> "False";
show(T) when is_atom(T) -> "'" ++ atom_to_list(T) ++ "'";
show(T) when is_integer(T) -> integer_to_list(T);
show(T) when is_float(T) -> float_to_list(T, [short]);
show(T) when is_pid(T) -> "'pid'";
show(T) when is_reference(T) -> "'ref'";
show(T) when is_binary(T) -> "'" ++ binary_to_list(T) ++ "'";
show(T) when is_tuple(T) ->
    case tuple_to_list(T) of
        [One] -> "(" ++ show(One) ++ ",)";
        Items -> "(" ++ join([show(I) || I <- Items]) ++ ")"
    end;
show(T) when is_list(T) -> "[" ++ join([show(I) || I <- T]) ++ "]";
show(T) when is_map(T) ->
    "{" ++ join([show(K) ++ ": " ++ show(V) || {K, V} <- lists:sort(maps:to_list(T))]) ++ "}".

join([]) -> "";
join([H | T]) -> lists:flatten([H | [", " ++ I || I <- T]]).

%% A log process: keeps what it is told, in order, and hands it over on request.
start_log() ->
    Pid = spawn(fun() -> log_loop([]) end),
    register(log, Pid),
    Pid.

log_loop(Acc) ->
    receive
        {dump, From} -> From ! {log, lists:reverse(Acc)}, log_loop([]);
        Entry -> log_loop([Entry | Acc])
    end.

note(Entry) -> log ! Entry.

dump() ->
    log ! {dump, self()},
    receive {log, Entries} -> Entries end.

%% Wait until the messages in flight have landed.
settle() -> timer:sleep(50).

mailbox() ->
    {messages, Ms} = process_info(self(), messages),
    Ms.
