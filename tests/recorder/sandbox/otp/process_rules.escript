#!/usr/bin/env escript
%% OTP 25 reference for the sandbox's process rules: exit signals, links, monitors
%% (tests/recorder/sandbox/test_otp_process.py runs the same scenarios in the sandbox and
%% compares). `escript process_rules.escript` prints "scenario.key = python literal" lines.
-mode(compile).
-compile([export_all, nowarn_export_all]).
-include("show.hrl").

main(_) ->
    logger:set_primary_config(level, none),
    start_log(),
    lists:foreach(fun run/1, [
        exit_self_normal_ends_the_process,
        link_to_a_dead_process,
        monitor_by_name_reports_the_name,
        demonitor_flush_and_info,
        shutdown_exits_propagate_through_links,
        timers_of_ended_processes
    ]).

run(Name) ->
    Self = self(),
    put(scenario, Name),
    {Pid, Ref} = spawn_monitor(fun() -> put(scenario, Name), ?MODULE:Name(), Self ! done end),
    receive
        done -> erlang:demonitor(Ref, [flush]);
        {'DOWN', Ref, process, Pid, Why} -> o("crashed", Why)
    end.

o(Key, Term) -> out(atom_to_list(get(scenario)) ++ "." ++ Key, Term).

waiter() -> spawn(fun() -> receive go -> ok end end).

%% The sandbox has no nodes: a DOWN of a monitor by name names the name alone.
who({Name, Node}) when is_atom(Name), Node =:= node() -> Name;
who(Other) -> Other.

%% ---------------------------------------------------------------- the scenarios

exit_self_normal_ends_the_process() ->
    Self = self(),
    {P, R} = spawn_monitor(fun() -> exit(self(), normal), Self ! still_running end),
    o("down", receive {'DOWN', R, process, P, Why} -> Why end),
    settle(),
    o("ran_on", receive still_running -> true after 0 -> false end),
    {P2, R2} = spawn_monitor(fun() ->
        process_flag(trap_exit, true),
        exit(self(), normal),
        Self ! {got, receive M -> M after 100 -> none end}
    end),
    o("trapping_gets", receive {got, M} -> M end),
    o("trapping_down", receive {'DOWN', R2, process, P2, Why2} -> Why2 end).

link_to_a_dead_process() ->
    Dead = spawn(fun() -> ok end),
    settle(),
    o("not_trapping", try link(Dead) of true -> linked catch error:E -> {error, E} end),
    o("still_alive", true),
    process_flag(trap_exit, true),
    o("trapping_returns", link(Dead)),
    o("trapping_gets", receive M -> M after 100 -> none end).

monitor_by_name_reports_the_name() ->
    P = spawn(fun() -> receive stop -> exit(bye) end end),
    register(named, P),
    R = monitor(process, named),
    P ! stop,
    o("down", receive {'DOWN', R, process, Who, Why} -> {who(Who), Why} end),
    R2 = monitor(process, nobody),
    o("nobody", receive {'DOWN', R2, process, Who2, Why2} -> {who(Who2), Why2} end),
    P3 = waiter(),
    R3 = monitor(process, P3),
    P3 ! go,
    o("by_pid", receive {'DOWN', R3, process, Who3, Why3} -> {Who3 =:= P3, Why3} end).

demonitor_flush_and_info() ->
    Q = waiter(),
    R = monitor(process, Q),
    Q ! go,
    settle(),
    o("flush_info_after_down", demonitor(R, [flush, info])),
    o("mailbox_after_flush", mailbox()),
    Q2 = waiter(),
    R2 = monitor(process, Q2),
    o("info_while_alive", demonitor(R2, [info])),
    o("info_again", demonitor(R2, [info])),
    o("plain_again", demonitor(R2)),
    Q3 = waiter(),
    R3 = monitor(process, Q3),
    Q3 ! go,
    settle(),
    o("info_after_down", demonitor(R3, [info])),
    o("down_kept", [element(1, M) || M <- mailbox()]),
    Q2 ! go.

shutdown_exits_propagate_through_links() ->
    Self = self(),
    Linked = fun(Reason) ->
        spawn_monitor(fun() ->
            B = spawn_link(fun() -> receive go -> exit(Reason) end end),
            Self ! {b, B},
            receive never -> ok end
        end)
    end,
    {A, RA} = Linked(shutdown),
    receive {b, B} -> B ! go end,
    o("shutdown_kills", receive {'DOWN', RA, process, A, Why} -> Why after 200 -> alive end),
    {A2, RA2} = Linked({shutdown, done}),
    receive {b, B2} -> B2 ! go end,
    o("shutdown_tuple_kills",
      receive {'DOWN', RA2, process, A2, Why2} -> Why2 after 200 -> alive end),
    {A3, RA3} = Linked(normal),
    receive {b, B3} -> B3 ! go end,
    o("normal_kills", receive {'DOWN', RA3, process, A3, Why3} -> Why3 after 200 -> alive end),
    exit(A3, kill).

timers_of_ended_processes() ->
    Self = self(),
    Target = waiter(),
    ToDead = erlang:send_after(100, Target, tick),
    Target ! go,
    timer:sleep(20),
    o("aimed_at_ended_pid_pending", erlang:cancel_timer(ToDead) =/= false),
    Ended = waiter(),
    Ended ! go,
    timer:sleep(20),
    o("aimed_at_dead_pid_pending", erlang:cancel_timer(erlang:send_after(50, Ended, x)) =/= false),
    C = spawn(fun() -> erlang:send_after(50, Self, from_ended_creator), receive go -> ok end end),
    timer:sleep(5),
    C ! go,
    o("from_ended_creator", receive from_ended_creator -> from_ended_creator
                            after 200 -> nothing end).
